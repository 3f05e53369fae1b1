import { IsIn, IsInt, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';
import { BaseServiceConfig } from '@palisade/config';

export const CLOUD_PROVIDERS = ['none', 'openai', 'anthropic'] as const;
export type CloudProviderName = (typeof CLOUD_PROVIDERS)[number];

const HTTP_URL = /^https?:\/\/[^\s/?#]+(?::\d+)?(?:\/[^\s?#]*)?$/;
// An API key must not cross a network in clear: plain http only to a proxy on this machine.
const CLOUD_URL =
  /^(?:https:\/\/[^\s/?#]+|http:\/\/(?:127\.0\.0\.1|localhost|\[::1\]))(?::\d+)?(?:\/[^\s?#]*)?$/;
const BROKER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export class LlmRouterConfig extends BaseServiceConfig {
  /** Base URL of the local Ollama server (native API, not /v1). */
  @Matches(HTTP_URL, { message: 'must be the http(s) base URL of Ollama, e.g. http://127.0.0.1:11434' })
  PALISADE_OLLAMA_URL: string = 'http://127.0.0.1:11434';

  /** Local model for every untrusted, tainted or sensitive turn (e.g. qwen3:8b). */
  @IsString()
  @Matches(/^\S+$/, { message: 'must name the local Ollama model, e.g. qwen3:8b' })
  PALISADE_OLLAMA_MODEL: string = '';

  /** Whole local model call, first byte to done:true. */
  @IsInt()
  @Min(1_000)
  @Max(3_600_000)
  PALISADE_OLLAMA_TIMEOUT_MS: number = 300_000;

  /** Ollama keep_alive (how long the model stays loaded), e.g. "5m" or "-1". */
  @IsString()
  @Matches(/^-?\d+[smh]?$/, { message: 'must be a duration such as 5m, 1h, 300 or -1' })
  PALISADE_OLLAMA_KEEP_ALIVE: string = '5m';

  /** Cloud model for trusted, clean turns; `none` keeps every turn local. */
  @IsIn(CLOUD_PROVIDERS)
  PALISADE_CLOUD_PROVIDER: CloudProviderName = 'none';

  /** Base URL of the provider (https; http only on loopback), e.g. https://api.openai.com. */
  @ValidateIf((c: LlmRouterConfig) => c.PALISADE_CLOUD_PROVIDER !== 'none')
  @Matches(CLOUD_URL, {
    message: 'must be an https:// base URL of the provider (plain http only to 127.0.0.1/localhost)',
  })
  PALISADE_CLOUD_URL: string = '';

  @ValidateIf((c: LlmRouterConfig) => c.PALISADE_CLOUD_PROVIDER !== 'none')
  @Matches(/^\S+$/, { message: 'must name the cloud model when PALISADE_CLOUD_PROVIDER is set' })
  PALISADE_CLOUD_MODEL: string = '';

  /** Logical name of the API key in credential-broker's PALISADE_BROKER_ENTRIES (never the key itself). */
  @ValidateIf((c: LlmRouterConfig) => c.PALISADE_CLOUD_PROVIDER !== 'none')
  @Matches(BROKER_NAME, {
    message:
      'must be the credential-broker name of the API key entry (e.g. llm-cloud) when PALISADE_CLOUD_PROVIDER is set',
  })
  PALISADE_CLOUD_CREDENTIAL: string = '';

  @IsInt()
  @Min(1_000)
  @Max(3_600_000)
  PALISADE_CLOUD_TIMEOUT_MS: number = 120_000;

  /** Anthropic requires max_tokens on every request. */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  PALISADE_CLOUD_MAX_TOKENS: number = 4_096;
}
