import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  APPROVALS_DECIDE,
  APPROVALS_EVALUATE,
  APPROVALS_GET,
  APPROVALS_GRANT,
  APPROVALS_LIST,
  type ApprovalsDecideReply,
  type ApprovalsEvaluateReply,
  type ApprovalsGetReply,
  type ApprovalsGrantReply,
  type ApprovalsListReply,
} from '@palisade/contracts';
import {
  DecideRequestDto,
  EvaluateRequestDto,
  GetRequestDto,
  GrantRequestDto,
  ListRequestDto,
} from './approvals.dto';
import { ApprovalsService } from './approvals.service';

@Controller()
export class ApprovalsController {
  constructor(private readonly approvals: ApprovalsService) {}

  @MessagePattern(APPROVALS_EVALUATE)
  evaluate(@Payload() request: EvaluateRequestDto): Promise<ApprovalsEvaluateReply> {
    return this.approvals.evaluate(request);
  }

  @MessagePattern(APPROVALS_DECIDE)
  decide(@Payload() request: DecideRequestDto): Promise<ApprovalsDecideReply> {
    return this.approvals.decide(request);
  }

  @MessagePattern(APPROVALS_GRANT)
  async grant(@Payload() request: GrantRequestDto): Promise<ApprovalsGrantReply> {
    return { grant: await this.approvals.grant(request.approval) };
  }

  @MessagePattern(APPROVALS_GET)
  get(@Payload() request: GetRequestDto): Promise<ApprovalsGetReply> {
    return this.approvals.get(request.approval);
  }

  @MessagePattern(APPROVALS_LIST)
  list(@Payload() request: ListRequestDto): Promise<ApprovalsListReply> {
    return this.approvals.list(request);
  }
}
