import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** A `catch` that drops what it caught: the error is neither used, rethrown, logged nor counted. */
export interface SilentCatch {
  file: string;
  line: number;
  /** The source of the enclosing statement, whitespace squeezed: what an allow-list entry matches. */
  text: string;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** True when `name` is read anywhere in `node` (the handler looks at what it caught). */
function uses(node: ts.Node, name: string): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (ts.isIdentifier(n) && n.text === name && !ts.isBindingElement(n.parent)) found = true;
    else ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

/** True when `block` throws (rethrows or replaces what it caught): the caller sees a failure. */
function throws(block: ts.Node): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (found || ts.isFunctionLike(n)) return;
    if (ts.isThrowStatement(n)) found = true;
    else ts.forEachChild(n, visit);
  };
  visit(block);
  return found;
}

function statementOf(node: ts.Node): ts.Node {
  let n = node;
  while (n.parent && !ts.isSourceFile(n.parent) && !ts.isBlock(n.parent)) n = n.parent;
  return n;
}

/**
 * Every `try … catch` clause and `.catch(handler)` call in the TypeScript files under `root` whose
 * handler ignores the error: no binding, a binding never read, or a handler with no parameter.
 * A handler that reads its error (to rethrow, wrap, log, count or classify it) or throws is not silent.
 */
export function findSilentCatches(root: string, base = root): SilentCatch[] {
  const out: SilentCatch[] = [];
  for (const path of tsFiles(root)) {
    const src = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const report = (node: ts.Node): void => {
      const stmt = statementOf(node);
      out.push({
        file: relative(base, path),
        line: src.getLineAndCharacterOfPosition(node.getStart(src)).line + 1,
        text: stmt.getText(src).replace(/\s+/g, ' ').trim(),
      });
    };
    const visit = (n: ts.Node): void => {
      if (ts.isCatchClause(n)) {
        const v = n.variableDeclaration?.name;
        if ((!v || !ts.isIdentifier(v) || !uses(n.block, v.text)) && !throws(n.block)) report(n);
      } else if (
        ts.isCallExpression(n) &&
        ts.isPropertyAccessExpression(n.expression) &&
        n.expression.name.text === 'catch' &&
        n.arguments.length === 1
      ) {
        const h = n.arguments[0] as ts.Expression;
        if (ts.isArrowFunction(h) || ts.isFunctionExpression(h)) {
          const p = h.parameters[0]?.name;
          if (!p || !ts.isIdentifier(p) || !uses(h.body, p.text)) report(n);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(src);
  }
  return out;
}
