import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CRON_CREATE,
  CRON_LIST,
  CRON_REMOVE,
  CRON_UPDATE,
  type CronJobView,
  type CronListReply,
  type CronRemoveReply,
} from '@palisade/contracts';
import { CronCreateDto, CronListDto, CronRemoveDto, CronUpdateDto } from './jobs/cron-job.dto';
import { CronService } from './cron.service';

/** cmd.cron.*: called by the gateway's API with the operator (or sender) as creator. */
@Controller()
export class CronController {
  constructor(private readonly cron: CronService) {}

  @MessagePattern(CRON_CREATE)
  create(@Payload() request: CronCreateDto): Promise<CronJobView> {
    return this.cron.jobs.create(request);
  }

  @MessagePattern(CRON_UPDATE)
  update(@Payload() request: CronUpdateDto): Promise<CronJobView> {
    return this.cron.jobs.update(request);
  }

  @MessagePattern(CRON_REMOVE)
  remove(@Payload() request: CronRemoveDto): Promise<CronRemoveReply> {
    return this.cron.jobs.remove(request);
  }

  @MessagePattern(CRON_LIST)
  async list(@Payload() _request: CronListDto): Promise<CronListReply> {
    return { jobs: await this.cron.jobs.list() };
  }
}
