import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CLIENT_COMMANDS, SERVER_COMMANDS } from '../src/contract';
import { DEFAULT_SETTINGS, readSettings } from '../src/settings';

const root = path.join(__dirname, '..', '..');

interface Manifest {
    main: string;
    activationEvents: string[];
    capabilities: { untrustedWorkspaces: { supported: string | boolean; restrictedConfigurations?: string[] } };
    contributes: {
        languages: { id: string; filenames?: string[]; filenamePatterns?: string[]; extensions?: string[]; configuration: string }[];
        grammars: { language: string; scopeName: string; path: string }[];
        commands: { command: string; title: string; category: string }[];
        configuration: { properties: Record<string, { default?: unknown }> };
    };
}

const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;

describe('package.json', () => {
    it('declares every tilt.* setting that settings.ts reads, with the same defaults', () => {
        const read: string[] = [];
        readSettings((key) => {
            read.push(`tilt.${key}`);
            return undefined;
        });
        const declared = Object.keys(manifest.contributes.configuration.properties);
        assert.deepEqual([...declared].sort(), [...read].sort());
        const defaults = manifest.contributes.configuration.properties;
        const { settings } = readSettings((key) => defaults[`tilt.${key}`]?.default);
        assert.deepEqual(settings, DEFAULT_SETTINGS);
    });

    it('contributes the client commands under the Tilt category and never a server command id', () => {
        const ids = manifest.contributes.commands.map((c) => c.command).sort();
        assert.deepEqual(ids, Object.values(CLIENT_COMMANDS).sort());
        for (const c of manifest.contributes.commands) {
            assert.equal(c.category, 'Tilt');
            assert.ok(!(Object.values(SERVER_COMMANDS) as string[]).includes(c.command));
        }
        const titles = manifest.contributes.commands.map((c) => `Tilt: ${c.title}`);
        for (const t of [
            'Tilt: Restart Language Server',
            'Tilt: Live Update Now',
            'Tilt: Pause Live Updates',
            'Tilt: Resume Live Updates',
            'Tilt: Show Live Update Log',
        ]) {
            assert.ok(titles.includes(t), t);
        }
    });

    it('maps Tiltfile, Tiltfile.* and *.tiltfile (not *.star) to the tiltfile language', () => {
        const lang = manifest.contributes.languages.find((l) => l.id === 'tiltfile');
        assert.ok(lang);
        assert.deepEqual(lang.filenames, ['Tiltfile']);
        assert.deepEqual(lang.filenamePatterns, ['Tiltfile.*']);
        assert.deepEqual(lang.extensions, ['.tiltfile']);
        assert.ok(!JSON.stringify(manifest.contributes.languages).includes('.star'));
        const grammar = manifest.contributes.grammars.find((g) => g.language === 'tiltfile');
        assert.equal(grammar?.scopeName, 'source.tiltfile');
        JSON.parse(readFileSync(path.join(root, grammar.path), 'utf8'));
        const config = JSON.parse(readFileSync(path.join(root, lang.configuration), 'utf8')) as {
            comments: { lineComment: string };
            indentationRules: { increaseIndentPattern: string };
        };
        assert.equal(config.comments.lineComment, '#');
        assert.match('def f(x):', new RegExp(config.indentationRules.increaseIndentPattern));
        assert.match('if x:  # why', new RegExp(config.indentationRules.increaseIndentPattern));
        assert.doesNotMatch("print('a:')", new RegExp(config.indentationRules.increaseIndentPattern));
    });

    it('declares limited support in untrusted workspaces, restricting the server command', () => {
        const trust = manifest.capabilities.untrustedWorkspaces;
        assert.equal(trust.supported, 'limited');
        assert.ok(trust.restrictedConfigurations?.includes('tilt.server.path'));
    });

    it('points main at the bundle', () => {
        assert.equal(manifest.main, './dist/extension.js');
    });
});
