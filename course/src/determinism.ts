/**
 * The seam check (course/architecture.md, "Seams"): phase code may read the time,
 * start a timer, draw a random number, or touch real files and sockets only through
 * the seams, because phase 7 runs the real broker under a seeded scheduler and any
 * direct call would make a run unrepeatable (or reach the real disk and network).
 * This module finds direct uses in a source file by walking its TypeScript syntax
 * tree (not a text grep), so a comment or string that mentions `Date.now()` and a
 * `clock.setTimeout(…)` method call are not reported, while `globalThis.setTimeout`,
 * `randomBytes` imported from node:crypto and a value import from node:net are.
 *
 * Allowed places: the seam files themselves (`src/seams/clock.ts` for time and
 * timers, `src/seams/random.ts` for randomness, anything in `src/seams/` for files
 * and sockets) and the entry points (`src/main.ts`, `src/cli/`, `src/demos/`), which
 * choose the real seams and sit outside what the simulator drives.
 */
import ts from 'typescript';

/** The kinds of nondeterminism the check knows. */
/** `io` is a value import of node:fs or node:net: real files or sockets, which only the seams may touch. */
export type NondeterminismKind = 'time' | 'timer' | 'random' | 'io';

/** One direct use of a nondeterministic API. */
export interface NondeterminismFinding {
  /** 1-based line number. */
  readonly line: number;
  /** What was used, as written in the rule (`Date.now`, `setTimeout`, `new Date()`). */
  readonly api: string;
  readonly kind: NondeterminismKind;
}

/** Property pairs (`object.member`, matched on the last two names of a chain) and their kind. */
const MEMBER_RULES: ReadonlyMap<string, NondeterminismKind> = new Map([
  ['Date.now', 'time'],
  ['performance.now', 'time'],
  ['performance.timeOrigin', 'time'],
  ['process.hrtime', 'time'],
  ['Math.random', 'random'],
]);

/** Bare global names whose use is a timer. */
const TIMER_NAMES: ReadonlySet<string> = new Set(['setTimeout', 'setInterval']);

/** Members of node:crypto / WebCrypto that produce randomness. */
const CRYPTO_RANDOM = /^(random[A-Z]\w*|getRandomValues)$/;

/** Prefixes that name the global object; `globalThis.setTimeout` is `setTimeout`. */
const GLOBAL_OBJECTS: ReadonlySet<string> = new Set(['globalThis', 'global', 'window', 'self']);

/** Modules whose exports are timers or randomness when imported by name. */
const CRYPTO_MODULES: ReadonlySet<string> = new Set(['crypto', 'node:crypto']);
const TIMER_MODULES: ReadonlySet<string> = new Set(['timers', 'node:timers', 'timers/promises', 'node:timers/promises']);

/** Modules that reach real files, sockets or timers: importing a value from one is itself a finding. */
const IO_MODULES: ReadonlySet<string> = new Set([
  'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:net', 'dgram', 'node:dgram', 'timers', 'node:timers', 'timers/promises', 'node:timers/promises',
]);

/**
 * The dotted name of an identifier or a chain of property accesses
 * (`globalThis.Date.now` → `['globalThis', 'Date', 'now']`), or null for anything else.
 */
function dottedName(node: ts.Expression): string[] | null {
  if (ts.isIdentifier(node)) return [node.text];
  if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.name)) {
    const left = dottedName(node.expression);
    return left === null ? null : [...left, node.name.text];
  }
  return null;
}

/** True when an identifier is a value reference, not a declared name, a member name or a type. */
function isValueReference(id: ts.Identifier): boolean {
  const parent = id.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === id) return false;
  if (ts.isQualifiedName(parent)) return false;
  if (ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent) || ts.isImportClause(parent) || ts.isNamespaceImport(parent)) {
    return false;
  }
  if (
    (ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isPropertySignature(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isMethodSignature(parent) ||
      ts.isFunctionDeclaration(parent) ||
      ts.isVariableDeclaration(parent) ||
      ts.isParameter(parent) ||
      ts.isBindingElement(parent) ||
      ts.isGetAccessorDeclaration(parent) ||
      ts.isSetAccessorDeclaration(parent) ||
      ts.isClassDeclaration(parent) ||
      ts.isInterfaceDeclaration(parent) ||
      ts.isTypeAliasDeclaration(parent) ||
      ts.isEnumMember(parent)) &&
    parent.name === id
  ) {
    return false;
  }
  return true;
}

/** True when an import clause brings in at least one value (not only types). */
function importsAValue(clause: ts.ImportClause): boolean {
  if (clause.name !== undefined) return true;
  const bindings = clause.namedBindings;
  if (bindings === undefined) return false;
  if (ts.isNamespaceImport(bindings)) return true;
  return bindings.elements.length === 0 || bindings.elements.some((e) => !e.isTypeOnly);
}

/**
 * Find direct uses of the clock, timers and randomness in one TypeScript source.
 * Type positions (`ReturnType<typeof setTimeout>`) are not uses.
 * @example
 * scanSource('x.ts', 'const t = Date.now();'); // [{ line: 1, api: 'Date.now', kind: 'time' }]
 */
export function scanSource(fileName: string, text: string): NondeterminismFinding[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const findings: NondeterminismFinding[] = [];
  const cryptoNamespaces = new Set(['crypto', 'webcrypto']);
  const importedRandom = new Set<string>();
  const importedTimers = new Set<string>();

  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const from = statement.moduleSpecifier.text;
    const clause = statement.importClause;
    if (clause === undefined || clause.isTypeOnly) continue;
    if (IO_MODULES.has(from) && importsAValue(clause)) {
      findings.push({ line: source.getLineAndCharacterOfPosition(statement.getStart(source)).line + 1, api: `import from '${from}'`, kind: 'io' });
    }
    const isCrypto = CRYPTO_MODULES.has(from);
    const isTimers = TIMER_MODULES.has(from);
    if (!isCrypto && !isTimers) continue;
    if (clause.name !== undefined && isCrypto) cryptoNamespaces.add(clause.name.text);
    const bindings = clause.namedBindings;
    if (bindings === undefined) continue;
    if (ts.isNamespaceImport(bindings)) {
      if (isCrypto) cryptoNamespaces.add(bindings.name.text);
      continue;
    }
    for (const spec of bindings.elements) {
      if (spec.isTypeOnly) continue;
      const imported = (spec.propertyName ?? spec.name).text;
      if (isCrypto && CRYPTO_RANDOM.test(imported)) importedRandom.add(spec.name.text);
      if (isTimers && /^set(Timeout|Interval|Immediate)$/.test(imported)) importedTimers.add(spec.name.text);
    }
  }

  const report = (node: ts.Node, api: string, kind: NondeterminismKind): void => {
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    findings.push({ line, api, kind });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isTypeNode(node) && !ts.isExpressionWithTypeArguments(node)) return;
    if (ts.isImportDeclaration(node)) return;
    if (ts.isPropertyAccessExpression(node)) {
      const name = dottedName(node);
      if (name !== null && name.length >= 2) {
        const pair = name.slice(-2).join('.');
        const kind = MEMBER_RULES.get(pair);
        const object = name[name.length - 2] ?? '';
        const member = name[name.length - 1] ?? '';
        const withoutGlobal = name.length === 2 && GLOBAL_OBJECTS.has(object) ? member : null;
        if (kind !== undefined) report(node, pair, kind);
        else if (cryptoNamespaces.has(object) && CRYPTO_RANDOM.test(member)) report(node, `${object}.${member}`, 'random');
        else if (withoutGlobal !== null && TIMER_NAMES.has(withoutGlobal)) report(node, withoutGlobal, 'timer');
      }
    } else if (ts.isIdentifier(node) && isValueReference(node)) {
      if (TIMER_NAMES.has(node.text) || importedTimers.has(node.text)) report(node, node.text, 'timer');
      else if (importedRandom.has(node.text)) report(node, node.text, 'random');
    } else if (ts.isNewExpression(node) || ts.isCallExpression(node)) {
      // `new Date()` and `Date()` read the clock; `new Date(ms)` only formats a value.
      const callee = node.expression;
      const noArgs = node.arguments === undefined || node.arguments.length === 0;
      const name = dottedName(callee);
      const bare = name !== null && (name.length === 1 || (name.length === 2 && GLOBAL_OBJECTS.has(name[0] ?? '')));
      if (bare && name[name.length - 1] === 'Date' && (noArgs || ts.isCallExpression(node))) {
        report(node, ts.isNewExpression(node) ? 'new Date()' : 'Date()', 'time');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return findings;
}

/** Why a file may use a kind of nondeterminism, or null when it may not. */
export function allowedReason(relPath: string, kind: NondeterminismKind): string | null {
  if (relPath === 'src/seams/clock.ts') return 'the Clock seam';
  if (relPath === 'src/seams/random.ts' && kind === 'random') return 'the Random seam';
  if (kind === 'io' && relPath.startsWith('src/seams/')) return 'a seam';
  if (isEntryPoint(relPath)) return 'a CLI entry point';
  return null;
}

/**
 * The command line and its demos: they pick the real seams and hand them down, and
 * the simulator never runs them, so they may touch real time, files and sockets.
 */
export function isEntryPoint(relPath: string): boolean {
  return relPath === 'src/main.ts' || relPath.startsWith('src/cli/') || relPath.startsWith('src/demos/');
}

/** The seam a learner should use instead, for the message. */
export function seamFor(kind: NondeterminismKind): string {
  if (kind === 'random') return 'the Random seam (seams/random.ts)';
  if (kind === 'io') return 'the Storage or Transport seam (seams/storage.ts, seams/transport.ts)';
  return 'the Clock seam (seams/clock.ts)';
}
