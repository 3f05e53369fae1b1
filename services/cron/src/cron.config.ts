import { IsInt, IsString, Max, Min } from 'class-validator';
import { DatabaseConfig } from '@palisade/config';

export class CronConfig extends DatabaseConfig {
  /** Job creations allowed inside one sliding window (system jobs are exempt). */
  @IsInt()
  @Min(1)
  @Max(100_000)
  PALISADE_CRON_CREATE_LIMIT: number = 10;

  /** Length of the creation rate-limit window, in seconds. */
  @IsInt()
  @Min(1)
  @Max(86_400)
  PALISADE_CRON_CREATE_WINDOW_S: number = 60;

  /** How often the scheduler looks for due jobs (milliseconds): the most a run can be late. */
  @IsInt()
  @Min(50)
  @Max(60_000)
  PALISADE_CRON_TICK_MS: number = 250;

  /**
   * Optional JSON file of system jobs: `[{"name", "kind", "expr", "tz"?, "session", "prompt"?}]`.
   * Only this file creates system jobs; they are exempt from the rate limit and cannot be changed
   * or removed over NATS.
   */
  @IsString()
  PALISADE_CRON_SYSTEM_JOBS_FILE: string = '';
}
