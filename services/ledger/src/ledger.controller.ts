import { Controller } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { LedgerService } from './ledger.service';

@Controller()
export class LedgerController {
  constructor(private readonly ledger: LedgerService) {}

  /** Signs a checkpoint of the current head on demand (operators, tests, before a backup). */
  @MessagePattern('cmd.ledger.checkpoint')
  async checkpoint() {
    return (await this.ledger.checkpointNow()) ?? null;
  }
}
