// A station agent on real media: its input is an RTP session (media/rtp), not the simulator: a
// gateway (2, 10) fed by an RTP peer, or the Asterisk station (1) fed by an externalMedia channel. Each new
// source (SSRC) is a call; its stream is cut into segments on the wall clock (Segmenter), every segment
// goes through the agent with the packets' real arrival times and the session's own RTCP figures
// (loss, jitter, round trip), and the processed audio goes back out as RTP, one frame every 20 ms. A
// call ends when its source says BYE, another source takes over, or nothing arrives for `idleMs`.
import { parameterByName, stationById } from '../../catalog/index.ts';
import type { Logger } from '../../lib/log.ts';
import { framesFrom, Pacer } from '../../media/rtp/pacer.ts';
import { SegmentPlayout } from '../../media/rtp/playout.ts';
import { type CutSegment, Segmenter } from '../../media/rtp/segmenter.ts';
import type { RtpSession } from '../../media/rtp/session.ts';
import type { StationInput } from '../pipeline.ts';
import type { CallInfo, ProcessedSegment, SegmentInfo } from './agent.ts';
import { rtpLabels, rtpStationInput } from './rtpInput.ts';

export interface RtpStationDeps {
  agent: {
    readonly stationId: number;
    processSegment(call: CallInfo, seg: SegmentInfo, input: StationInput): Promise<ProcessedSegment>;
    endCall(tenantId: string, callId: string): void;
  };
  session: RtpSession;
  log: Logger;
}

export interface RtpStationOptions {
  tenantId: string;
  /** Call ids are `<prefix>-<ssrc>-<n>`. */
  callPrefix: string;
  segmentMs?: number;
  /** Silence on the wire after which a call is over, ms. */
  idleMs?: number;
  /** Stop after this many calls (default: until stop()). */
  maxCalls?: number;
  /** Send the processed audio back out on the session (default true). */
  sendOutput?: boolean;
  onSegment?: (r: ProcessedSegment, seg: CutSegment) => void;
}

interface RtpCall {
  id: string;
  ssrc: number;
  seg: Segmenter;
  /** When the next frame of processed audio goes out (wall-clock ms). */
  outNext: number;
  /** Plays the packets out for a station without its own jitter buffer. */
  playout: SegmentPlayout | null;
}

export type RtpStationState = 'waiting' | 'in-call' | 'stopping' | 'stopped';

export interface RtpStation {
  readonly state: RtpStationState;
  readonly calls: number;
  stop(): Promise<void>;
  /** Settles when the station stopped (after maxCalls, or stop()); rejects if processing failed. */
  done: Promise<void>;
}

// Segments are cut once the largest playout delay the optimizer may set has passed, plus two frames.
const HOLD_MS = (parameterByName('jitter_buffer_ms')?.max ?? 300) + 40;

export function startRtpStation(deps: RtpStationDeps, opts: RtpStationOptions): RtpStation {
  const { agent, session, log } = deps;
  const spec = stationById(agent.stationId);
  if (!spec) throw new RangeError(`unknown station ${agent.stationId}`);
  const segmentMs = opts.segmentMs ?? 1000;
  const idleMs = opts.idleMs ?? 2000;
  const format = session.format;
  const clock = () => performance.timeOrigin + performance.now();
  const out = new Pacer<Float32Array>((f) => session.sendFrame(f), clock);
  let state: RtpStationState = 'waiting';
  let calls = 0;
  let call: RtpCall | null = null;
  let chain: Promise<void> = Promise.resolve();
  let failed: Error | null = null;
  const { promise: done, resolve: resolveDone, reject: rejectDone } = settle();

  const processCut = (c: RtpCall, cut: CutSegment): Promise<void> =>
    (chain = chain.then(async () => {
      if (failed) return;
      const fig = session.figures('segment');
      const input = rtpStationInput(agent.stationId, session, cut, fig, c.playout);
      const labels = rtpLabels(format.name, fig, cut.packets);
      const startMs = cut.index * segmentMs;
      try {
        const res = await agent.processSegment(
          { tenantId: opts.tenantId, callId: c.id, channel: spec.leg, codec: format.name, labels },
          { index: cut.index, startMs, endMs: startMs + (cut.samples / format.clockRate) * 1000 },
          input,
        );
        opts.onSegment?.(res, cut);
        if (opts.sendOutput !== false) {
          const next = framesFrom(res.output, session.frameSamples, c.outNext, clock());
          c.outNext = next.nextMs;
          out.schedule(next.items);
        }
      } catch (err) {
        failed = err as Error;
        log.error({ err: failed.message, call: c.id }, 'RTP station failed to process a segment');
        void stop();
      }
    }));

  const endCall = (why: string): void => {
    const c = call;
    if (!c) return;
    call = null;
    const last = c.seg.cutLast();
    if (last) void processCut(c, last);
    chain = chain.then(() => {
      agent.endCall(opts.tenantId, c.id);
      log.info({ call: c.id, segments: c.seg.nextIndex, why }, 'RTP call ended');
    });
    calls++;
    if (state === 'in-call') state = 'waiting';
    if (opts.maxCalls !== undefined && calls >= opts.maxCalls && state !== 'stopping') void stop();
  };

  const offs = [
    session.onSource((ssrc) => {
      if (call) endCall('a new source took over');
      if (state === 'stopping' || state === 'stopped') return;
      const id = `${opts.callPrefix}-${ssrc.toString(16)}-${calls}`;
      call = {
        id,
        ssrc,
        seg: new Segmenter({ frameSamples: session.frameSamples, segmentMs, holdMs: HOLD_MS }),
        outNext: 0,
        playout: spec.network ? null : new SegmentPlayout(format.clockRate),
      };
      state = 'in-call';
      log.info({ call: id, ssrc }, 'RTP call started');
    }),
    session.onFrame((f) => {
      if (call && f.ssrc === call.ssrc) call.seg.add(f);
    }),
    session.onBye((ssrc) => {
      if (call?.ssrc === ssrc) endCall('BYE');
    }),
  ];

  const tick = setInterval(() => {
    const c = call;
    if (!c) return;
    const now = clock();
    for (let due = c.seg.dueAt(); due !== undefined && due <= now; due = c.seg.dueAt())
      void processCut(c, c.seg.cut());
    if (c.seg.started && now - c.seg.lastArrivalMs > idleMs) endCall(`no packet for ${idleMs} ms`);
  }, 10);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      state = 'stopping';
      if (call) endCall('stopped');
      clearInterval(tick);
      for (const off of offs) off();
      await chain;
      await out.idle();
      out.stop();
      state = 'stopped';
      if (failed) rejectDone(failed);
      else resolveDone();
    })();
    return stopping;
  };

  return {
    get state() {
      return state;
    },
    get calls() {
      return calls;
    },
    stop,
    done,
  };
}

function settle(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
