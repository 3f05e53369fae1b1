import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { SANDBOX_INFO, SANDBOX_RUN, type SandboxInfoReply, type SandboxRunReply } from '@palisade/contracts';
import { SandboxExecService } from './sandbox-exec.service';
import { SandboxInfoRequestDto, SandboxRunRequestDto } from './sandbox-run.dto';

@Controller()
export class SandboxExecController {
  constructor(private readonly sandbox: SandboxExecService) {}

  /** The image id, default limits and egress the gateway binds into an approval. */
  @MessagePattern(SANDBOX_INFO)
  info(@Payload() _request: SandboxInfoRequestDto): Promise<SandboxInfoReply> {
    return this.sandbox.info();
  }

  /** Runs a granted command (verify, claim, run; see SandboxExecService). */
  @MessagePattern(SANDBOX_RUN)
  run(@Payload() request: SandboxRunRequestDto): Promise<SandboxRunReply> {
    return this.sandbox.run(request);
  }
}
