/** Every benchmark target, in the order the table lists them. */
import { birdTarget } from './bird.js';
import { frrTarget } from './frr.js';
import { gobgpTarget } from './gobgp.js';
import { tortieTarget } from './tortie.js';
import type { BenchTarget } from './types.js';

export type { BenchPeer, BenchTarget, RunningTarget, TargetConfig } from './types.js';

export const ALL_TARGETS: readonly BenchTarget[] = [birdTarget, frrTarget, gobgpTarget, tortieTarget];
