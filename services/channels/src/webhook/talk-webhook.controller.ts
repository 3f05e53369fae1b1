import { Controller, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ChannelsService } from '../channels.service';

const header = (req: Request, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * POST /webhooks/talk/:channel — Talk calls it inside the user's own "post message" request and waits
 * up to 5 s, so the answer never waits for the turn. The global body parser is off for this service:
 * the raw bytes are read here, with a size limit, and verified before anything parses them.
 */
@Controller('webhooks/talk')
export class TalkWebhookController {
  constructor(@Inject(ChannelsService) private readonly channels: ChannelsService) {}

  @Post(':channel')
  async webhook(@Param('channel') name: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.channels.ready;
    const ch = this.channels.talkChannel(name);
    if (!ch) {
      req.resume();
      res.status(404).json({ error: 'unknown channel' });
      return;
    }
    const limit = this.channels.maxBodyBytes;
    const remote = req.socket.remoteAddress;
    const declared = Number(header(req, 'content-length') ?? 0);
    const raw = declared > limit ? undefined : await readLimited(req, limit);
    if (!raw) {
      res.setHeader('Connection', 'close');
      res.status(413).json({ error: `body larger than ${limit} bytes` });
      req.resume();
      await this.channels.intake.tooLarge(ch.name, limit, remote);
      return;
    }
    try {
      const answer = await this.channels.intake.accept(
        ch,
        {
          random: header(req, 'x-nextcloud-talk-random'),
          signature: header(req, 'x-nextcloud-talk-signature'),
          backend: header(req, 'x-nextcloud-talk-backend'),
        },
        raw,
        remote,
      );
      res.status(answer.status).json(answer.body);
    } catch (error) {
      this.channels.logError(`channel ${ch.name}: webhook failed: ${(error as Error).message}`);
      res.status(503).json({ error: 'temporarily unavailable' });
    }
  }
}

/** The body, or undefined once it exceeds `limit` bytes (reading stops there). */
function readLimited(req: Request, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
