/**
 * The golden fixtures (policy/testdata/golden): each is Kubernetes YAML
 * with _base.yaml prepended; `Attachment` and `GoldenOptions` are
 * test-only kinds (what the CNI plugin would report; node addresses).
 * Rendered to the exact ipset/iptables-restore input of a from-scratch
 * apply. Used by the golden unit test and the kernel integration test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { compile } from '../compile/compile.js';
import { podKey, type Attachment } from '../compile/model.js';
import { fullRestoreText, fullSetsText } from '../compile/render.js';
import { withAttachments } from '../enforcer.js';
import { parseManifests } from '../manifest-parse.js';

export const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata', 'golden');
const DIR = GOLDEN_DIR;

export interface GoldenInput {
  readonly text: string;
  readonly attachments: Map<string, Attachment>;
  readonly nodeAddresses: string[];
}

/** The fixture text with the base prepended, and its test-only documents. */
export function goldenInput(name: string): GoldenInput {
  const text = `${readFileSync(join(DIR, '_base.yaml'), 'utf8')}\n---\n${readFileSync(join(DIR, name), 'utf8')}`;
  const attachments = new Map<string, Attachment>();
  let nodeAddresses: string[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (!('toJS' in doc)) continue;
    const v = doc.toJS() as { kind?: string; namespace?: string; name?: string; ifName?: string; ips?: string[]; nodeAddresses?: string[] } | null;
    if (v?.kind === 'Attachment') attachments.set(podKey({ namespace: v.namespace ?? '', name: v.name ?? '' }), { ifName: v.ifName ?? '', ips: v.ips ?? [] });
    if (v?.kind === 'GoldenOptions') nodeAddresses = v.nodeAddresses ?? [];
  }
  return { text, attachments, nodeAddresses };
}

export function goldenFixtures(): string[] {
  return readdirSync(DIR).filter((f) => f.endsWith('.yaml') && !f.startsWith('_')).sort();
}

export function renderGolden(name: string): { output: string; compiled: ReturnType<typeof compile> } {
  const input = goldenInput(name);
  const parsed = parseManifests(name, input.text);
  if (parsed.issues.length) throw new Error(`fixture ${name}: ${parsed.issues.map((i) => `${i.line}: ${i.message}`).join('; ')}`);
  const state = withAttachments({ namespaces: parsed.namespaces, pods: parsed.pods, policies: parsed.policies }, input.attachments);
  const compiled = compile(state, { ifacePrefix: 'tt', nodeAddresses: input.nodeAddresses });
  const sections = [
    '# ipset restore -exist',
    fullSetsText(compiled.sets).trimEnd(),
    '',
    '# iptables-restore --noflush',
    fullRestoreText(compiled.tables.get(4) ?? new Map()).trimEnd(),
    '',
    '# ip6tables-restore --noflush',
    fullRestoreText(compiled.tables.get(6) ?? new Map()).trimEnd(),
    '',
    '# issues',
    ...compiled.issues.map((i) => `${i.kind} ${i.key} ${i.path}: ${i.code}`),
    '',
  ];
  return { output: sections.join('\n'), compiled };
}

