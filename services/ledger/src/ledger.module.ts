import { Module } from '@nestjs/common';
import { LedgerController } from './ledger.controller';
import { LedgerService } from './ledger.service';

/** Single writer of the hash-chained ledger, checkpoint signer and SOC feed. */
@Module({ controllers: [LedgerController], providers: [LedgerService] })
export class LedgerModule {}
