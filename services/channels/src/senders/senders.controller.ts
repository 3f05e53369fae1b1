import { Controller, Inject, UseFilters, UsePipes, ValidationPipe } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Type } from 'class-transformer';
import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import {
  CHANNELS_SENDERS_ADMIT,
  CHANNELS_SENDERS_LIST,
  CHANNELS_SENDERS_REJECT,
  type ChannelsSenderAdmitRequest,
  type ChannelsSenderRejectRequest,
  type ChannelsSendersListRequest,
  SENDER_LEVELS,
  type SenderLevel,
  type SenderStatus,
  type SenderView,
} from '@palisade/contracts';
import { RpcPassThroughFilter } from '@palisade/nats';
import { ChannelsService } from '../channels.service';

const SENDER_STATUSES: SenderStatus[] = ['pending', 'admitted', 'rejected'];

export class OperatorActorDto {
  @IsIn(['user', 'apikey']) type: 'user' | 'apikey';
  @IsString() @IsNotEmpty() @MaxLength(256) id: string;
}

export class SendersListDto implements ChannelsSendersListRequest {
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(64) channel?: string;
  @IsOptional() @IsIn(SENDER_STATUSES) status?: SenderStatus;
}

export class SenderRejectDto implements ChannelsSenderRejectRequest {
  @IsString() @IsNotEmpty() @MaxLength(64) channel: string;
  @IsString() @IsNotEmpty() @MaxLength(256) sender: string;
  @ValidateNested() @Type(() => OperatorActorDto) actor: OperatorActorDto;
}

export class SenderAdmitDto extends SenderRejectDto implements ChannelsSenderAdmitRequest {
  @IsIn(SENDER_LEVELS) level: SenderLevel;
}

/**
 * Operator management of channel senders (the gateway's API calls these). In a hybrid (HTTP + NATS)
 * app the microservice is initialised before bootstrapService registers its global pipe and filter,
 * so they are ignored there: this controller names them itself.
 */
@Controller()
@UsePipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }))
@UseFilters(new RpcPassThroughFilter())
export class SendersController {
  constructor(@Inject(ChannelsService) private readonly channels: ChannelsService) {}

  @MessagePattern(CHANNELS_SENDERS_LIST)
  list(@Payload() request: SendersListDto): Promise<SenderView[]> {
    return this.channels.listSenders(request);
  }

  @MessagePattern(CHANNELS_SENDERS_ADMIT)
  admit(@Payload() request: SenderAdmitDto): Promise<SenderView> {
    return this.channels.decideSender(request, 'admitted', request.level);
  }

  @MessagePattern(CHANNELS_SENDERS_REJECT)
  reject(@Payload() request: SenderRejectDto): Promise<SenderView> {
    return this.channels.decideSender(request, 'rejected');
  }
}
