import { Module } from '@nestjs/common';
import { ApprovalsController } from './approval/approvals.controller';
import { ApprovalsService } from './approval/approvals.service';

/** Decides which commands need a human, holds pending requests, issues signed grants. */
@Module({ controllers: [ApprovalsController], providers: [ApprovalsService] })
export class ApprovalsModule {}
