/**
 * Policy compilation in one call: a fresh PolicyCompiler, i.e. the full
 * compile with nothing remembered. The enforcer keeps one compiler alive
 * instead, so that each recompile costs in proportion to the change.
 */
import type { ClusterState } from './model.js';
import { PolicyCompiler, type CompileOptions, type Compiled } from './compiler.js';

export { PolicyCompiler, DEFAULT_MARK_BIT, validateOptions, type CompileOptions, type Compiled, type Resolved } from './compiler.js';

export function compile(state: ClusterState, opts: CompileOptions): Compiled {
  return new PolicyCompiler(opts).compile(state);
}
