import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { BROKER_FETCH } from '@palisade/contracts';
import { BrokerFetchRequestDto } from './broker-fetch.dto';
import { CredentialBrokerService } from './credential-broker.service';

@Controller()
export class CredentialBrokerController {
  constructor(private readonly broker: CredentialBrokerService) {}

  @MessagePattern(BROKER_FETCH)
  fetch(@Payload() request: BrokerFetchRequestDto) {
    return this.broker.fetch(request);
  }
}
