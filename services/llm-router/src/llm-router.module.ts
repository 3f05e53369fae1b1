import { Module } from '@nestjs/common';
import { CloudRepository } from './cloud/cloud.repository';
import { LlmController } from './complete/llm.controller';
import { LlmRouterService } from './complete/llm-router.service';
import { OllamaRepository } from './local/ollama.repository';

/** Routes completions: sensitive or untrusted work to the local Ollama, the rest may go to a cloud model. */
@Module({ controllers: [LlmController], providers: [LlmRouterService, OllamaRepository, CloudRepository] })
export class LlmRouterModule {}
