import { Module } from '@nestjs/common';

/** Decides which commands need a human, holds pending requests, issues signed grants. */
@Module({})
export class ApprovalsModule {}
