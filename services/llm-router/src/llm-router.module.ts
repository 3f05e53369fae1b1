import { Module } from '@nestjs/common';

/** Routes completions: sensitive or untrusted work to the local Ollama, the rest may go to a cloud model. */
@Module({})
export class LlmRouterModule {}
