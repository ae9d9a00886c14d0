// Reads cargo-modules' dependency graph of one crate (Graphviz, on stdin) and fails when its
// modules import each other in a cycle.
//
// cargo-modules' own `--acyclic` works on items: a type and its constructor (`fn new() -> Self`)
// already form a cycle there, so no crate passes it. What gatehouse's layering promises is about
// modules: lift every "uses" edge from the item that uses to the module that holds it, and from the
// item used to the module that holds that, and look for strongly connected components of two or
// more modules (Tarjan). A parent and a child that use each other count: that is a cycle too.
//
// With a layers file (third argument), it also fails when a module of a listed layer uses a
// module of a higher layer or of none (`crates/core/layers.json`): no cycle is not yet bottom-up.
//
// Usage: cargo modules dependencies --lib -p <crate> --no-externs --no-sysroot \
//          | node scripts/module-cycles.mjs <crate> [layers.json]
import { readFileSync } from 'node:fs';

const crate = process.argv[2] ?? 'crate';
const dot = readFileSync(0, 'utf8');

// `"a::b" [label="pub mod|b", …]; // "mod" node`
const kinds = new Map();
for (const m of dot.matchAll(/^\s*"([^"]+)" \[label=.*\/\/ "([^"]+)" node$/gm)) kinds.set(m[1], m[2]);
if (kinds.size === 0) {
  console.error(`module-cycles: no nodes read for ${crate}: is cargo-modules' output empty?`);
  process.exit(2);
}
const isModule = (id) => kinds.get(id) === 'mod' || kinds.get(id) === 'crate';

// The innermost module that holds an item (or the module itself).
function moduleOf(id) {
  let path = id;
  while (!isModule(path)) {
    const cut = path.lastIndexOf('::');
    if (cut < 0) return null;
    path = path.slice(0, cut);
  }
  return path;
}

const edges = new Map(); // module -> Map(module -> example "item -> item")
for (const m of dot.matchAll(/^\s*"([^"]+)" -> "([^"]+)" \[label="uses"/gm)) {
  const [from, to] = [moduleOf(m[1]), moduleOf(m[2])];
  if (!from || !to || from === to) continue;
  if (!edges.has(from)) edges.set(from, new Map());
  if (!edges.get(from).has(to)) edges.get(from).set(to, `${m[1]} -> ${m[2]}`);
}

// Tarjan's strongly connected components, iteratively (deep module trees must not overflow).
const index = new Map();
const low = new Map();
const onStack = new Set();
const stack = [];
const components = [];
let counter = 0;
for (const root of [...kinds.keys()].filter(isModule)) {
  if (index.has(root)) continue;
  const work = [[root, [...(edges.get(root)?.keys() ?? [])], 0]];
  index.set(root, counter);
  low.set(root, counter++);
  stack.push(root);
  onStack.add(root);
  while (work.length) {
    const frame = work[work.length - 1];
    const [node, next] = frame;
    if (frame[2] < next.length) {
      const w = next[frame[2]++];
      if (!index.has(w)) {
        index.set(w, counter);
        low.set(w, counter++);
        stack.push(w);
        onStack.add(w);
        work.push([w, [...(edges.get(w)?.keys() ?? [])], 0]);
      } else if (onStack.has(w)) {
        low.set(node, Math.min(low.get(node), index.get(w)));
      }
      continue;
    }
    work.pop();
    if (work.length) {
      const parent = work[work.length - 1][0];
      low.set(parent, Math.min(low.get(parent), low.get(node)));
    }
    if (low.get(node) === index.get(node)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== node);
      if (component.length > 1) components.push(component.sort());
    }
  }
}

const upward = layerViolations(process.argv[3]);
if (components.length === 0 && upward.length === 0) {
  console.log(`${crate}: no module cycles (${kinds.size} items, ${[...kinds.keys()].filter(isModule).length} modules)`);
  process.exit(0);
}
if (upward.length) {
  console.log(`${crate}: ${upward.length} use(s) that go up a layer (${process.argv[3]})`);
  for (const line of upward) console.log(`    ${line}`);
}
if (components.length === 0) process.exit(1);
console.log(`${crate}: ${components.length} module cycle(s)`);
for (const component of components) {
  const members = new Set(component);
  console.log(`\n  ${component.length} modules import each other: ${component.join(', ')}`);
  console.log('  because (one use per edge inside the cycle):');
  for (const from of component) {
    for (const [to, example] of edges.get(from) ?? []) {
      if (members.has(to)) console.log(`    ${from} -> ${to}   (${example})`);
    }
  }
}
process.exit(1);

// Uses from a module of a listed layer to a module of a higher layer, or of no listed layer.
function layerViolations(file) {
  if (!file) return [];
  const { layers, exceptions = [] } = JSON.parse(readFileSync(file, 'utf8'));
  const root = [...kinds.keys()].find((id) => kinds.get(id) === 'crate');
  const local = (id) => id.slice(root.length + 2); // without `crate_name::`
  const under = (id, prefix) => id === prefix || id.startsWith(`${prefix}::`);
  const layerOf = (id) => layers.findIndex((l) => l.modules.some((m) => under(local(id), m)));
  const excepted = (from, to) =>
    exceptions.some((e) => under(local(from), e.from) && under(local(to), e.to));
  const found = [];
  for (const [from, targets] of edges) {
    const own = layerOf(from);
    if (own < 0) continue;
    for (const [to, example] of targets) {
      if (to === root) continue;
      const theirs = layerOf(to);
      if ((theirs < 0 || theirs > own) && !excepted(from, to)) {
        const where = theirs < 0 ? 'no listed layer' : layers[theirs].name;
        found.push(`${local(from)} (${layers[own].name}) -> ${local(to)} (${where})   (${example})`);
      }
    }
  }
  return found.sort();
}
