import { Module } from '@nestjs/common';

/** Single writer of the hash-chained ledger, checkpoint signer and SOC feed. */
@Module({})
export class LedgerModule {}
