#!/usr/bin/env node
// Generates syntaxes/tiltfile.tmLanguage.json: a Starlark grammar with Tilt's builtins highlighted.
// The builtin names come from the server's API facts (tilt_lsp/tiltfile/data/api_facts.json), falling back to the
// shared research catalog. Run `npm run grammar` after the facts change; the output is committed.
//
//   node scripts/gen-grammar.mjs [facts.json] [--check]
//
// --check exits 1 when the committed grammar differs from what the facts would generate.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const clientDir = join(here, '..');
const output = join(clientDir, 'syntaxes', 'tiltfile.tmLanguage.json');
const candidates = [
    join(clientDir, '..', 'tilt_lsp', 'tiltfile', 'data', 'api_facts.json'),
    join(clientDir, '..', '..', 'shared', 'tilt-api', 'facts.json'),
];

const args = process.argv.slice(2);
const check = args.includes('--check');
const explicit = args.find((a) => !a.startsWith('--'));
const factsPath = explicit ?? candidates.find((p) => existsSync(p));
if (factsPath === undefined) {
    console.error(`no API facts found (looked in ${candidates.join(', ')})`);
    process.exit(2);
}
const facts = JSON.parse(readFileSync(factsPath, 'utf8'));

// The Starlark universe (language spec, go.starlark.net), independent of Tilt.
const STARLARK_BUILTINS = [
    'abs', 'all', 'any', 'bool', 'bytes', 'chr', 'dict', 'dir', 'enumerate', 'fail', 'float', 'getattr', 'hasattr',
    'hash', 'int', 'len', 'list', 'max', 'min', 'ord', 'print', 'range', 'repr', 'reversed', 'set', 'sorted', 'str',
    'tuple', 'type', 'zip',
];
// Python keywords that Starlark reserves; using one is a syntax error.
const RESERVED = [
    'as', 'assert', 'async', 'await', 'class', 'del', 'except', 'finally', 'from', 'global', 'import', 'is',
    'nonlocal', 'raise', 'try', 'with', 'yield',
];

const uniqSorted = (xs) => [...new Set(xs)].sort();
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// Longest first so that alternation never stops at a prefix (docker_build before docker).
const alt = (names) => [...names].sort((a, b) => b.length - a.length || a.localeCompare(b)).map(escapeRe).join('|');

const topFunctions = uniqSorted(facts.functions.filter((f) => f.module === null).map((f) => f.name).filter((n) => n !== 'load'));
const starlarkOnly = STARLARK_BUILTINS.filter((n) => !topFunctions.includes(n));
const topValues = uniqSorted(
    facts.values.filter((v) => v.module === null && !['None', 'True', 'False'].includes(v.name)).map((v) => v.name),
);

/** module → { functions: [...short names], values: [...short names] } */
const modules = new Map();
function addMember(entry, kind) {
    if (entry.module === null) {
        return;
    }
    const prefix = `${entry.module}.`;
    const short = entry.name.startsWith(prefix) ? entry.name.slice(prefix.length) : entry.name;
    const m = modules.get(entry.module) ?? { functions: [], values: [] };
    m[kind].push(short);
    modules.set(entry.module, m);
}
facts.functions.forEach((f) => addMember(f, 'functions'));
facts.values.forEach((v) => addMember(v, 'values'));
// Longest module first: os.path must win over os.
const moduleNames = [...modules.keys()].sort((a, b) => b.length - a.length || a.localeCompare(b));
const rootModules = uniqSorted(moduleNames.map((m) => m.split('.')[0]));

const qualified = moduleNames.flatMap((mod) => {
    const { functions, values } = modules.get(mod);
    const modRe = mod.split('.').map(escapeRe).join('\\s*\\.\\s*');
    const rules = [];
    if (functions.length > 0) {
        rules.push({
            match: `(?<![\\w.])(${modRe})\\s*(\\.)\\s*(${alt(uniqSorted(functions))})\\b`,
            captures: {
                1: { name: 'support.module.tilt.tiltfile' },
                2: { name: 'punctuation.accessor.tiltfile' },
                3: { name: 'support.function.tilt.tiltfile' },
            },
        });
    }
    if (values.length > 0) {
        rules.push({
            match: `(?<![\\w.])(${modRe})\\s*(\\.)\\s*(${alt(uniqSorted(values))})\\b`,
            captures: {
                1: { name: 'support.module.tilt.tiltfile' },
                2: { name: 'punctuation.accessor.tiltfile' },
                3: { name: 'support.variable.tilt.tiltfile' },
            },
        });
    }
    return rules;
});

/** One string rule: quote ' or ", triple or not, raw (r/rb/br prefix) or not (none or b prefix). */
function stringRule(quote, triple, raw) {
    const q = triple ? quote.repeat(3) : quote;
    const prefix = raw ? '(?:[rR][bB]?|[bB][rR])' : '[bB]?';
    const kind = triple ? 'triple' : quote === '"' ? 'double' : 'single';
    return {
        name: `string.quoted.${kind}${raw ? '.raw' : ''}.tiltfile`,
        begin: `(?<![\\w])(${prefix})(${q})`,
        beginCaptures: {
            1: { name: 'storage.type.string.tiltfile' },
            2: { name: 'punctuation.definition.string.begin.tiltfile' },
        },
        end: triple ? `(${q})` : `(${q})|((?<!\\\\)\\n)`,
        endCaptures: triple
            ? { 1: { name: 'punctuation.definition.string.end.tiltfile' } }
            : {
                  1: { name: 'punctuation.definition.string.end.tiltfile' },
                  2: { name: 'invalid.illegal.newline.tiltfile' },
              },
        // In raw strings a backslash still keeps the next quote inside the string, but is not an escape.
        patterns: raw ? [{ match: '\\\\[\\s\\S]' }] : [{ include: '#escape' }],
    };
}

const grammar = {
    $schema: 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
    name: 'Tiltfile',
    scopeName: 'source.tiltfile',
    comment: `Generated by scripts/gen-grammar.mjs from ${facts.source ?? 'the Tilt API facts'}. Do not edit by hand.`,
    patterns: [
        { include: '#comment' },
        { include: '#string' },
        { include: '#function-definition' },
        { include: '#load' },
        { include: '#keyword' },
        { include: '#constant' },
        { include: '#number' },
        { include: '#tilt-qualified' },
        { include: '#tilt-module' },
        { include: '#tilt-builtin' },
        { include: '#tilt-value' },
        { include: '#starlark-builtin' },
        { include: '#function-call' },
        { include: '#parens' },
        { include: '#operator' },
        { include: '#punctuation' },
    ],
    repository: {
        comment: {
            name: 'comment.line.number-sign.tiltfile',
            begin: '(#)',
            beginCaptures: { 1: { name: 'punctuation.definition.comment.tiltfile' } },
            end: '$',
        },
        escape: {
            patterns: [
                {
                    name: 'constant.character.escape.tiltfile',
                    match: '\\\\(?:[\\\\\'"abfnrtv0\\n]|[0-7]{1,3}|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})',
                },
            ],
        },
        string: {
            patterns: [true, false].flatMap((triple) =>
                [true, false].flatMap((raw) => [stringRule('"', triple, raw), stringRule("'", triple, raw)]),
            ),
        },
        'function-definition': {
            match: '\\b(def)\\s+([A-Za-z_][A-Za-z0-9_]*)\\s*(?=\\()',
            captures: {
                1: { name: 'storage.type.function.tiltfile' },
                2: { name: 'entity.name.function.tiltfile' },
            },
        },
        load: {
            match: '^\\s*(load)\\s*(?=\\()',
            captures: { 1: { name: 'keyword.control.import.tiltfile' } },
        },
        keyword: {
            patterns: [
                {
                    name: 'keyword.control.flow.tiltfile',
                    match: '\\b(if|elif|else|for|while|break|continue|pass|return)\\b',
                },
                { name: 'storage.type.function.lambda.tiltfile', match: '\\blambda\\b' },
                { name: 'keyword.operator.logical.tiltfile', match: '\\b(and|or|not|in)\\b' },
                { name: 'invalid.illegal.reserved.tiltfile', match: `\\b(${alt(RESERVED)})\\b` },
            ],
        },
        constant: {
            name: 'constant.language.tiltfile',
            match: '\\b(True|False|None)\\b',
        },
        number: {
            patterns: [
                { name: 'constant.numeric.hex.tiltfile', match: '\\b0[xX][0-9A-Fa-f]+\\b' },
                { name: 'constant.numeric.octal.tiltfile', match: '\\b0[oO][0-7]+\\b' },
                { name: 'constant.numeric.binary.tiltfile', match: '\\b0[bB][01]+\\b' },
                {
                    name: 'constant.numeric.float.tiltfile',
                    match: '(?<![\\w.])(?:\\d+\\.\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?\\b|\\b\\d+[eE][+-]?\\d+\\b',
                },
                { name: 'constant.numeric.integer.tiltfile', match: '\\b(?:0|[1-9]\\d*)\\b' },
            ],
        },
        'tilt-qualified': { patterns: qualified },
        'tilt-module': {
            match: `(?<![\\w.])(${alt(rootModules)})(?=\\s*\\.)`,
            captures: { 1: { name: 'support.module.tilt.tiltfile' } },
        },
        // Inside parentheses `name=` is a keyword argument (or a parameter default in a def).
        parens: {
            begin: '\\(',
            beginCaptures: { 0: { name: 'punctuation.parenthesis.begin.tiltfile' } },
            end: '\\)',
            endCaptures: { 0: { name: 'punctuation.parenthesis.end.tiltfile' } },
            patterns: [{ include: '#keyword-argument' }, { include: '$self' }],
        },
        'keyword-argument': {
            match: '\\b([A-Za-z_][A-Za-z0-9_]*)\\s*(=)(?!=)',
            captures: {
                1: { name: 'variable.parameter.tiltfile' },
                2: { name: 'keyword.operator.assignment.tiltfile' },
            },
        },
        'tilt-builtin': {
            match: `(?<![\\w.])(${alt(topFunctions)})\\b`,
            captures: { 1: { name: 'support.function.tilt.tiltfile' } },
        },
        'tilt-value': {
            match: `(?<![\\w.])(${alt(topValues)})\\b`,
            captures: { 1: { name: 'support.variable.tilt.tiltfile' } },
        },
        'starlark-builtin': {
            match: `(?<![\\w.])(${alt(starlarkOnly)})(?=\\s*\\()`,
            captures: { 1: { name: 'support.function.builtin.tiltfile' } },
        },
        'function-call': {
            match: '\\b([A-Za-z_][A-Za-z0-9_]*)\\s*(?=\\()',
            captures: { 1: { name: 'entity.name.function.call.tiltfile' } },
        },
        operator: {
            patterns: [
                { name: 'keyword.operator.comparison.tiltfile', match: '==|!=|<=|>=|<|>' },
                { name: 'keyword.operator.assignment.augmented.tiltfile', match: '\\+=|-=|\\*=|/=|//=|%=|&=|\\|=|\\^=|<<=|>>=' },
                { name: 'keyword.operator.assignment.tiltfile', match: '=' },
                { name: 'keyword.operator.arithmetic.tiltfile', match: '\\*\\*|//|[+\\-*/%]' },
                { name: 'keyword.operator.bitwise.tiltfile', match: '<<|>>|[&|^~]' },
            ],
        },
        punctuation: {
            patterns: [
                { name: 'punctuation.separator.element.tiltfile', match: ',' },
                { name: 'punctuation.separator.colon.tiltfile', match: ':' },
                { name: 'punctuation.accessor.tiltfile', match: '\\.' },
            ],
        },
    },
};

const text = `${JSON.stringify(grammar, null, 4)}\n`;
if (check) {
    const current = existsSync(output) ? readFileSync(output, 'utf8') : '';
    if (current !== text) {
        console.error(`${output} is out of date; run npm run grammar`);
        process.exit(1);
    }
    console.log('grammar is up to date');
} else {
    writeFileSync(output, text);
    console.log(
        `wrote ${output}: ${topFunctions.length} builtins, ${topValues.length} values, ` +
            `${moduleNames.length} modules (${[...modules.values()].reduce((n, m) => n + m.functions.length + m.values.length, 0)} members) from ${factsPath}`,
    );
}
