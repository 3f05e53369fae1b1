import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { LedgerService } from './ledger.service';

export class CheckpointRequestDto {
  /** Why a checkpoint was asked for (logged), e.g. "before backup". */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  reason?: string;
}

@Controller()
export class LedgerController {
  constructor(private readonly ledger: LedgerService) {}

  /** Signs a checkpoint of the current head on demand (operators, tests, before a backup). */
  @MessagePattern('cmd.ledger.checkpoint')
  async checkpoint(@Payload() _request: CheckpointRequestDto) {
    return (await this.ledger.checkpointNow()) ?? null;
  }
}
