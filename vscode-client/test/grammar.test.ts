import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';

const root = path.join(__dirname, '..', '..');
const grammarPath = path.join(root, 'syntaxes', 'tiltfile.tmLanguage.json');

let grammar: textmate.IGrammar;

before(async () => {
    const wasm = readFileSync(path.join(root, 'node_modules', 'vscode-oniguruma', 'release', 'onig.wasm'));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new textmate.Registry({
        onigLib: Promise.resolve({
            createOnigScanner: (sources: string[]) => new oniguruma.OnigScanner(sources),
            createOnigString: (s: string) => new oniguruma.OnigString(s),
        }),
        loadGrammar: (scopeName: string) =>
            Promise.resolve(
                scopeName === 'source.tiltfile'
                    ? textmate.parseRawGrammar(readFileSync(grammarPath, 'utf8'), grammarPath)
                    : null,
            ),
    });
    const g = await registry.loadGrammar('source.tiltfile');
    assert.ok(g);
    grammar = g;
});

/** Tokenizes `source` and returns [text, innermost scope] pairs (without the root scope), whitespace dropped. */
function tokens(source: string): [string, string][] {
    const out: [string, string][] = [];
    let stack = textmate.INITIAL;
    for (const line of source.split('\n')) {
        const r = grammar.tokenizeLine(line, stack);
        for (const t of r.tokens) {
            const text = line.slice(t.startIndex, t.endIndex).trim();
            if (text.trim() !== '') {
                out.push([text, t.scopes[t.scopes.length - 1] ?? '']);
            }
        }
        stack = r.ruleStack;
    }
    return out;
}

function scopeOf(source: string, text: string): string | undefined {
    return tokens(source).find(([t]) => t === text)?.[1];
}

describe('tiltfile grammar', () => {
    it('highlights Tilt builtins, not look-alike names', () => {
        assert.equal(scopeOf("docker_build('web', '.')", 'docker_build'), 'support.function.tilt.tiltfile');
        assert.equal(scopeOf("k8s_resource('web')", 'k8s_resource'), 'support.function.tilt.tiltfile');
        assert.equal(scopeOf('my_docker_build()', 'my_docker_build'), 'entity.name.function.call.tiltfile');
        assert.equal(scopeOf('x.docker_build()', 'docker_build'), 'entity.name.function.call.tiltfile');
    });

    it('highlights module members and Tilt values', () => {
        const src = "p = os.path.join(config.main_dir, 'x')";
        assert.equal(scopeOf(src, 'join'), 'support.function.tilt.tiltfile');
        assert.equal(scopeOf(src, 'os.path'), 'support.module.tilt.tiltfile');
        assert.equal(scopeOf(src, 'config'), 'support.module.tilt.tiltfile');
        assert.equal(scopeOf(src, 'main_dir'), 'support.variable.tilt.tiltfile');
        assert.equal(scopeOf('trigger_mode(TRIGGER_MODE_MANUAL)', 'TRIGGER_MODE_MANUAL'), 'support.variable.tilt.tiltfile');
        assert.equal(scopeOf("v1alpha1.extension_repo(name='x')", 'extension_repo'), 'support.function.tilt.tiltfile');
    });

    it('highlights Starlark keywords, builtins, constants and reserved words', () => {
        assert.equal(scopeOf('def f(a, b=1):', 'def'), 'storage.type.function.tiltfile');
        assert.equal(scopeOf('def f(a, b=1):', 'f'), 'entity.name.function.tiltfile');
        assert.equal(scopeOf('for x in range(3):', 'for'), 'keyword.control.flow.tiltfile');
        assert.equal(scopeOf('for x in range(3):', 'range'), 'support.function.builtin.tiltfile');
        assert.equal(scopeOf('x = None', 'None'), 'constant.language.tiltfile');
        assert.equal(scopeOf('import os', 'import'), 'invalid.illegal.reserved.tiltfile');
        assert.equal(scopeOf("load('ext://restart_process', 'docker_build_with_restart')", 'load'), 'keyword.control.import.tiltfile');
    });

    it('marks keyword arguments inside calls, also on continuation lines', () => {
        const src = "docker_build('web', '.',\n    live_update=[sync('.', '/app')],\n    only=['src'])";
        assert.equal(scopeOf(src, 'live_update'), 'variable.parameter.tiltfile');
        assert.equal(scopeOf(src, 'only'), 'variable.parameter.tiltfile');
        assert.equal(scopeOf(src, 'sync'), 'support.function.tilt.tiltfile');
        assert.equal(scopeOf('x = 1', 'x'), 'source.tiltfile', 'a top-level assignment is not a keyword argument');
    });

    it('handles comments, strings with escapes and triple-quoted strings', () => {
        assert.equal(scopeOf("# docker_build here", 'docker_build here'), 'comment.line.number-sign.tiltfile');
        const t = tokens("s = 'a\\'b' + \"\"\"docker_build\nsync\"\"\"");
        assert.ok(t.some(([text, scope]) => text === "\\'" && scope === 'constant.character.escape.tiltfile'));
        assert.ok(t.some(([text, scope]) => text === 'docker_build' && scope === 'string.quoted.triple.tiltfile'));
        assert.ok(t.some(([text, scope]) => text === 'sync' && scope === 'string.quoted.triple.tiltfile'));
        const raw = tokens("r'\\d+\\''");
        assert.ok(raw.every(([, scope]) => scope !== 'constant.character.escape.tiltfile'), 'no escapes in raw strings');
        assert.equal(raw.filter(([, scope]) => scope === 'punctuation.definition.string.end.tiltfile').length, 1);
        assert.equal(scopeOf('n = 0x1F + 1.5e3', '0x1F'), 'constant.numeric.hex.tiltfile');
    });

    it('is generated from the current API facts', { skip: !existsSync(path.join(root, '..', 'tilt_lsp', 'tiltfile', 'data', 'api_facts.json')) }, () => {
        execFileSync(process.execPath, [path.join(root, 'scripts', 'gen-grammar.mjs'), '--check'], { stdio: 'pipe' });
    });
});
