import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { LLM_COMPLETE } from '@palisade/contracts';
import { LlmCompleteRequestDto } from './complete-request.dto';
import { LlmRouterService } from './llm-router.service';

@Controller()
export class LlmController {
  constructor(private readonly router: LlmRouterService) {}

  @MessagePattern(LLM_COMPLETE)
  complete(@Payload() request: LlmCompleteRequestDto) {
    return this.router.complete(request);
  }
}
