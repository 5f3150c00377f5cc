"""Starlark conformance in Tilt's dialect (go.starlark.net with set/while/recursion/top-level control).

Expected values were checked against go.starlark.net while writing these tests;
each case prints values and compares the exact text, so repr/str formatting is
covered everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tilt_lsp.tiltfile.model import Severity

from .helpers import errors, fmt, prints, run, start

# (source, expected print() lines)
VALUES: list[tuple[str, list[str]]] = [
    # ---- numbers
    ("print(1 + 2, 7 // 2, -7 // 2, 7 % 3, -7 % 3, 7.0 / 2, 1 / 2, 2 * 3.5, 10 - 0.5)", ["3 3 -4 1 2 3.5 0.5 7.0 9.5"]),
    ("print(10 / 4, 10 // 4, 10.0 // 4, -10 // 4.0, 5 % -3, -5 % 3, 5.5 % -2)", ["2.5 2 2.0 -3.0 -1 1 -0.5"]),
    ("print(0x7fffffffffffffff + 1, 2 << 70, 255 & 15, 8 | 1, 6 ^ 3, ~5, 1 >> 5)",
     ["9223372036854775808 2361183241434822606848 15 9 5 -6 0"]),
    ("print(int('0x10', 16), int('10', 16), int('0x10', 0), int('-12'), int('0b101', 0), int('777', 8), int('0o17', 0))",
     ["16 16 16 -12 5 511 15"]),
    ("print(int('007'), int('+5'), int('-0x1f', 16), int('z', 36), int(3.9), int(-3.9), int(True))", ["7 5 -31 35 3 -3 1"]),
    ("print(float('1.5'), float(3), str(1.0), 1e20, 1.5e-7, 0.1 + 0.2, 1.0 / 3, 123456789012345678.0)",
     ["1.5 3.0 1.0 1e+20 1.5e-07 0.30000000000000004 0.3333333333333333 1.2345678901234568e+17"]),
    ("print(float('inf'), float('-inf'), float('nan'))", ["+inf -inf nan"]),
    ("print(1234567.0, 100000.0, 1e6, 999999.0, 1e-05, 0.0001, 123456789.123, -2500000.0, 1e20, -0.0)",
     ["1.234567e+06 100000.0 1e+06 999999.0 1e-05 0.0001 1.23456789123e+08 -2.5e+06 1e+20 -0.0"]),
    ("print('%g %G %e %f %s %r' % (1234567.0, 1e20, 1.5, 1.5, 1e6, 2.0))", ["1.234567e+06 1E+20 1.500000e+00 1.500000 1e+06 2.0"]),
    ("print(type(b'ab'), b'ab', len(b'ab'), b'ab'[1], b'abc'[1:], repr(b'a\\\"b'), b'a' + b'b', b'a' == b'a')",
     ['bytes ab 2 b bc b"a\\"b" ab True']),
    ("print(1 < 2.5, 2 == 2.0, 1.0 == 1, {1: 'a'}[1.0], 'a' < 'b', [1, 2] < [1, 3], (1, 2) == (1, 2), None == None)",
     ["True True True a True True True True"]),
    ("print(abs(-3), abs(-2.5), -(3), +4)", ["3 2.5 -3 4"]),
    # ---- strings: repr/str and quoting
    ("print(repr('a'), str(['a', 1]), repr({'k': (1,)}), repr(\"it's\"), str('x'))", ['"a" ["a", 1] {"k": (1,)} "it\'s" x']),
    ("print(repr('q\"\\n\\t\\\\'), repr((1,)), repr(()), repr([]), repr(None))", ['"q\\"\\n\\t\\\\" (1,) () [] None']),
    ("print(str([None, True, 1.5, 'x', ('t',), {'k': [1]}]))", ['[None, True, 1.5, "x", ("t",), {"k": [1]}]']),
    ("print('%s|%r|%d|%x|%o|%X|%%' % ('s', 's', 42, 255, 8, 255))", ['s|"s"|42|ff|10|FF|%']),
    ("print('%s' % [1, 'a'], '%s-%s' % (1, 2), '%(a)s:%(b)d' % {'a': 'x', 'b': 2}, '%s' % (1,), '%s' % ((1, 2),))",
     ['[1, "a"] 1-2 x:2 1 (1, 2)']),
    ("print('{} {}'.format(1, 'a'), '{0}{1}{0}'.format('a', 'b'), '{x}-{y}'.format(x=1, y=[1]), '{{}}'.format(), '{!r}'.format('a'))",
     ['1 a aba 1-[1] {} "a"']),
    # ---- str methods
    ("print('a,b,,c'.split(','), 'a b  c'.split(), ' a b '.split(' '), 'a,b,c'.split(',', 1))",
     ['["a", "b", "", "c"] ["a", "b", "c"] ["", "a", "b", ""] ["a", "b,c"]']),
    ("print('a,b,c'.rsplit(',', 1), 'a b c'.rsplit(None, 1), '  a b  '.split(None, 1), 'aXbXc'.split('X', 0))",
     ['["a,b", "c"] ["a b", "c"] ["a", "b  "] ["aXbXc"]']),
    ("print('x'.join(['a', 'b']), '-'.join(('a',)), '[' + ''.join([]) + ']')", ["axb a []"]),
    ("print('  hi  '.strip(), 'xxhixx'.strip('x'), '  hi'.lstrip(), 'hi  '.rstrip() + '|', 'abcab'.lstrip('ab'))",
     ["hi hi hi hi| cab"]),
    ("print('a=b=c'.partition('='), 'a=b=c'.rpartition('='), 'abc'.partition('x'), 'abc'.rpartition('x'))",
     ['("a", "=", "b=c") ("a=b", "=", "c") ("abc", "", "") ("", "", "abc")']),
    ("print('hello'.capitalize(), 'aBC dEF'.capitalize(), 'hello world-foo'.title(), 'hi'.upper(), 'HeLLo'.lower())",
     ["Hello Abc def Hello World-Foo HI hello"]),
    ("print('hello'.find('l'), 'hello'.rfind('l'), 'hello'.find('z'), 'hello'.index('e'), 'hello'.rindex('l'), "
     "'hello'.find('l', 3), 'hello'.find('l', 0, 2), 'banana'.count('an'))", ["2 3 -1 1 3 3 -1 2"]),
    ("print('hello'.startswith('he'), 'hello'.endswith(('x', 'lo')), 'hello'.startswith('l', 2), 'a1'.isalnum(), "
     "'ab'.isalpha(), '12'.isdigit(), ' '.isspace(), 'Ab'.istitle(), 'AB'.isupper(), 'ab'.islower())",
     ["True True True True True True True True True True"]),
    ("print('aaa'.replace('a', 'b'), 'aaa'.replace('a', 'b', 2), 'abc'.removeprefix('ab'), 'abc'.removesuffix('bc'))",
     ["bbb bba c a"]),
    ("print('a\\nb\\r\\nc'.splitlines(), 'a\\nb'.splitlines(True), ''.splitlines())", ['["a", "b\\r", "c"] ["a\\n", "b"] []']),
    ("print('abc'.elems(), list('abc'.elems()), 'ab'.elem_ords(), list('ab'.codepoint_ords()), type('a'.codepoints()))",
     ['"abc".elems() ["a", "b", "c"] "ab".elem_ords() [97, 98] string.codepoints']),
    ("print('abc'.elems()[-1], len('abc'.elems()), [c for c in 'ab'.elems()], sorted('ba'.elems()))", ['c 3 ["a", "b"] ["a", "b"]']),
    ("print('a' * 3, 3 * [1], [1] + [2], (1,) + (2,), 'a' + 'b', '[' + 'a' * -1 + ']')", ["aaa [1, 1, 1] [1, 2] (1, 2) ab []"]),
    ("print('a' in 'cat', 1 in [1, 2], 'k' in {'k': 1}, 2 not in (1,), '' in '')", ["True True True True True"]),
    # ---- slicing and indexing
    ("print([1, 2, 3][1:-1], 'hello'[-3:], 'hello'[:100], [1, 2, 3][10:], [1, 2, 3][::-2], 'abc'[-100:2], 'abc'[::-1])",
     ["[2] llo hello [] [3, 1] ab cba"]),
    ("print('abcdef'[1:4:2], (1, 2, 3)[1:], list(range(10))[::3], range(0, 10, 2)[1:3], 'abc'[-1])",
     ["bd (2, 3) [0, 3, 6, 9] range(2, 6, 2) c"]),
    # ---- lists
    ("x = [3, 1, 2]\nx.append(4)\nx.extend([5])\nx.insert(0, 9)\nprint(x, x.pop(), x.pop(0), x.index(1), x)\n"
     "x.remove(1)\nprint(x)\nx.clear()\nprint(x)", ["[3, 1, 2, 4] 5 9 1 [3, 1, 2, 4]", "[3, 2, 4]", "[]"]),
    ("x = [1, 2, 3]\nx.insert(-1, 7)\nx.insert(100, 8)\nprint(x, x.index(3, 1))", ["[1, 2, 7, 3, 8] 3"]),
    ("x = [1]\nx += [2]\nx += (3,)\ny = (1,)\ny += (2,)\nprint(x, y)", ["[1, 2, 3] (1, 2)"]),
    ("a = [1]\nb = a\nb.append(2)\nprint(a, a == b, [1, 2] == (1, 2))", ["[1, 2] True False"]),
    # ---- dicts
    ("d = {'b': 1, 'a': 2}\nd['c'] = 3\nprint(d, d.keys(), d.values(), d.items(), d.get('z'), d.get('z', 5), len(d))",
     ['{"b": 1, "a": 2, "c": 3} ["b", "a", "c"] [1, 2, 3] [("b", 1), ("a", 2), ("c", 3)] None 5 3']),
    ("d = {'b': 1, 'a': 2}\nprint(d.pop('b'), d.pop('zz', 0), d.setdefault('q', 1), d.setdefault('a', 100), d)\n"
     "d.update({'x': 1}, y=2)\nd.update([('w', 0)])\nprint(d, d.popitem(), d)",
     ['1 0 1 2 {"a": 2, "q": 1}', '{"q": 1, "x": 1, "y": 2, "w": 0} ("a", 2) {"q": 1, "x": 1, "y": 2, "w": 0}']),
    ("d = {}\nfor k in ['z', 'a', 'm']:\n    d[k] = len(d)\nd['z'] = 9\nprint(d, list(d))", ['{"z": 9, "a": 1, "m": 2} ["z", "a", "m"]']),
    ("print({'a': 1} | {'b': 2}, dict([('a', 1)], b=2), dict(a=1), {'a': 1} == {'a': 1})", ['{"a": 1, "b": 2} {"a": 1, "b": 2} {"a": 1} True']),
    # ---- tuples and sets
    ("a, b = 1, 2\n[c, d] = [3, 4]\n(e, (f, g)) = (5, (6, 7))\na, b = b, a\nprint(a, b, c, d, e, f, g)", ["2 1 3 4 5 6 7"]),
    ("s = set([3, 1, 2, 3])\nprint(len(s), 3 in s, sorted(s), s.union([7]) == set([1, 2, 3, 7]), type(s))", ["3 True [1, 2, 3] True set"]),
    ("print(set([1, 2]) | set([3]), set([1, 2]) & set([2]), set([1, 2]) ^ set([2, 3]))",
     ["set([1, 2, 3]) set([2]) set([1, 3])"]),
    ("print(repr(set([1])), str(set()), set([1]) == set([1]))", ["set([1]) set([]) True"]),
    ("s = set([1, 2])\ns.add(3)\ns.discard(9)\ns.remove(1)\ns.update([4], (5,))\nprint(sorted(s), s.pop() in [2, 3, 4, 5], len(s))\n"
     "t = set([1, 2, 3])\nprint(sorted(t.difference([1])), sorted(t.intersection([2, 9])), sorted(t.symmetric_difference([3, 4])),"
     " t.issubset([1, 2, 3, 4]), t.issuperset([2]))\nt.clear()\nprint(t)",
     ["[2, 3, 4, 5] True 3", "[2, 3] [2] [1, 2, 4] True True", "set([])"]),
    ("d = {'a': 1}\nd.clear()\nprint(d, len(d))", ["{} 0"]),
    # ---- comprehensions
    ("print([x * y for x in [1, 2] for y in [10, 20] if x * y != 20], {k: v for k, v in [('a', 1), ('b', 2)] if v > 1})",
     ['[10, 40] {"b": 2}']),
    ("print([[j for j in range(i)] for i in range(3)], [x for x in range(10) if x % 2 if x > 3])", ["[[], [0], [0, 1]] [5, 7, 9]"]),
    ("x = 'outer'\nys = [x for x in [1, 2]]\nprint(x, ys)", ["outer [1, 2]"]),
    # ---- functions
    ("f = lambda x, y=2: x * y\nprint(f(3), f(3, y=3), (lambda: 5)())", ["6 9 5"]),
    ("def outer():\n    n = [0]\n    def inc():\n        n[0] += 1\n        return n[0]\n    inc()\n    inc()\n    return inc()\nprint(outer())",
     ["3"]),
    ("def mk(a):\n    return lambda b: a + b\nprint(mk(1)(2), [mk(i)(10) for i in range(3)])", ["3 [10, 11, 12]"]),
    ("def f(a, b=2, *args, c, d=4, **kw):\n    return (a, b, args, c, d, kw)\nprint(f(1, c=3), f(1, 2, 3, 4, c=5, e=6), f(*[1, 2], **{'c': 3}))",
     ['(1, 2, (), 3, 4, {}) (1, 2, (3, 4), 5, 4, {"e": 6}) (1, 2, (), 3, 4, {})']),
    ("def f(a, *, b):\n    return a + b\nprint(f(1, b=2))", ["3"]),
    ("def f(x=[]):\n    x.append(1)\n    return len(x)\nprint(f(), f(), f())", ["1 2 3"]),
    ("y = 1\ndef f(x=y):\n    return x\ny = 2\nprint(f())", ["1"]),
    ("x = 5\ndef f():\n    return x\nx = 6\nprint(f())", ["6"]),
    ("x = 1\ndef f():\n    x = 2\n    return x\nprint(f(), x)", ["2 1"]),
    ("def f():\n    return g()\ndef g():\n    return 7\nprint(f())", ["7"]),
    ("def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\nprint(fib(15))", ["610"]),
    ("def f(): pass\nprint(f(), f, len, type(f), type(len), type(lambda: 1))",
     ["None <function f> <built-in function len> function builtin_function_or_method function"]),
    # ---- control flow, top level
    ("i = 0\nout = []\nwhile True:\n    i += 1\n    if i > 6:\n        break\n    if i % 2:\n        continue\n    out.append(i)\nprint(out)",
     ["[2, 4, 6]"]),
    ("if True:\n    x = 1\nelif False:\n    x = 3\nelse:\n    x = 2\nfor i in range(2):\n    x += i\nprint(x)", ["2"]),
    ("total = 0\nfor i in range(5):\n    if i == 3:\n        break\n    total += i\nprint(total)", ["3"]),
    ("x = 1\nx = 2\ndef x():\n    return 3\nprint(x())", ["3"]),
    ("for k, v in {'a': 1}.items():\n    print(k, v)", ["a 1"]),
    # ---- builtins
    ("print(sorted([3, 1, 2]), sorted([3, 1, 2], reverse=True), sorted(['bb', 'a', 'ccc'], key=len), "
     "sorted(['bb', 'a', 'ccc'], key=len, reverse=True), sorted({'b': 1, 'a': 2}))",
     ['[1, 2, 3] [3, 2, 1] ["a", "bb", "ccc"] ["ccc", "bb", "a"] ["a", "b"]']),
    ("print(sorted([(1, 'b'), (1, 'a'), (0, 'z')]), sorted([1, 2.5, 0]), sorted(['b', 'a', 'c'], key=lambda s: -ord(s)))",
     ['[(0, "z"), (1, "a"), (1, "b")] [0, 1, 2.5] ["c", "b", "a"]']),
    ("print(min(3, 1, 2), max([3, 1, 2]), min(['bb', 'a'], key=len), max('b', 'a'), max([1, 5, 3], key=lambda x: -x))",
     ["1 3 a b 1"]),
    ("print(list(enumerate(['a', 'b'])), enumerate(['a'], 1), zip([1, 2], ['a', 'b']), zip([1, 2, 3], [4]), zip())",
     ['[(0, "a"), (1, "b")] [(1, "a")] [(1, "a"), (2, "b")] [(1, 4)] []']),
    ("print(reversed([1, 2, 3]), reversed(range(3)), any([0, 1]), all([]), any([]), all([1, 0]))", ["[3, 2, 1] [2, 1, 0] True True False False"]),
    ("print(list(range(5)), list(range(5, 0, -2)), range(10)[2], len(range(0, 10, 3)), 3 in range(5), range(3) == range(3))",
     ["[0, 1, 2, 3, 4] [5, 3, 1] 2 4 True True"]),
    ("print(chr(65), ord('A'), hash('abc'), hash(''), bool(0), bool([1]), bool(''), bool('0'), bool(None))",
     ["A 65 96354 0 False True False True False"]),
    ("print(tuple([1, 2]), list((1,)), tuple({'a': 1}), list(set([2])), float(), bool(), list(), dict())", ['(1, 2) [1] ("a",) [2] 0.0 False [] {}']),
    ("print(type(1), type(1.0), type(''), type([]), type({}), type(()), type(None), type(True), type(range(3)))",
     ["int float string list dict tuple NoneType bool range"]),
    ("print(dir([]), hasattr('', 'split'), hasattr([], 'foo'), getattr('abc', 'upper')(), getattr([], 'nope', 7))",
     ['["append", "clear", "extend", "index", "insert", "pop", "remove"] True False ABC 7']),
    ("print(not 1, not [], 1 and 2, 0 or 'x', None or [], 1 if 0 else 2)", ["False True 2 x [] 2"]),
]


@pytest.mark.parametrize("src,expected", VALUES, ids=[f"v{i}" for i in range(len(VALUES))])
def test_values(star: Callable[[str], list[str]], src: str, expected: list[str]) -> None:
    assert star(src) == expected


# (source, expected message fragment) for run-time errors.
ERRORS: list[tuple[str, str]] = [
    ("x = 1 // 0", "floored division by zero"),
    ("x = 1 % 0", "integer modulo by zero"),
    ("x = 1.0 / 0", "floating-point division by zero"),
    ("x = {'a': 1}['b']", 'key "b" not in dict'),
    ("x = [1, 2][5]", "list index 5 out of range [-2:1]"),
    ("x = ('a',)[-3]", "tuple index -3 out of range [-1:0]"),
    ("x = [][0]", "index 0 out of range: empty list"),
    ("x = 'abc'[5]", "string index 5 out of range [-3:2]"),
    ("x = {[1]: 2}", "unhashable type: list"),
    ("x = set([[1]])", "unhashable type: list"),
    ("d = {}\nd[{}] = 1", "unhashable type: dict"),
    ("x = 1 < 'a'", "int < string not implemented"),
    ("x = None < None", "NoneType < NoneType not implemented"),
    ("x = sorted([1, 'a'])", "string < int not implemented"),
    ("x = 'a' + 1", "unknown binary op: string + int"),
    ("x = True + 1", "unknown binary op: bool + int"),
    ("x = -'a'", "unknown unary op: - string"),
    ("def f():\n    print(y)\n    y = 1\nf()", "local variable y referenced before assignment"),
    ("for c in 'abc':\n    pass", "string value is not iterable"),
    ("x = [c for c in 'abc']", "string value is not iterable"),
    ("x = list('abc')", "list: for parameter 1: got string, want iterable"),
    ("for x in 5:\n    pass", "int value is not iterable"),
    ("x = len(5)", "len: value of type int has no len"),
    ("a, b = [1, 2, 3]", "too many values to unpack (got 3, want 2)"),
    ("a, b, c = [1, 2]", "too few values to unpack (got 2, want 3)"),
    ("a, b = 'ab'", "got string in sequence assignment"),
    ("t = (1, 2)\nt[0] = 5", "tuple value does not support item assignment"),
    ("x = {'a': 1, 'a': 2}", 'duplicate key: "a"'),
    ("x = [].pop()", "pop: index -1 out of range: empty list"),
    ("x = [1].remove(5)", "remove: element not found"),
    ("x = [1, 2, 3].index(4)", "index: value not in list"),
    ("x = {'a': 1}.pop('b')", "pop: missing key"),
    ("x = 'abc'.index('z')", "index: substring not found"),
    ("x = 'a'.split('')", "split: empty separator"),
    ("x = ','.join([1])", "join: in list, want string, got int"),
    ("x = 'a,b'.split(sep=',')", "split: unexpected keyword arguments"),
    ("x = '%s %s' % ('a',)", "not enough arguments for format string"),
    ("x = '%s' % ('a', 'b')", "too many arguments for format string"),
    ("x = '%z' % 1", "unknown conversion %z"),
    ("x = '{:>5}'.format(1)", "format spec features not supported in replacement fields: >5"),
    ("x = '{} {1}'.format(1, 2)", "cannot switch from automatic field numbering to manual field specification"),
    ("x = '{x}'.format()", "format: keyword x not found"),
    ("x = int('  42 ')", "int: invalid literal with base 10:   42 "),
    ("x = int('0x10')", "int: invalid literal with base 10: 0x10"),
    ("x = int('1_000')", "int: invalid literal with base 10: 1_000"),
    ("x = int('12', 2)", "int: invalid literal with base 2: 12"),
    ("x = int('10', 1)", "int: base must be an integer >= 2 && <= 36"),
    ("x = int(5, 10)", "int: can't convert non-string with explicit base"),
    ("x = float('abc')", "invalid float literal: abc"),
    ("x = min([])", "min: argument is an empty sequence"),
    ("x = str(1, 2)", "str: got 2 arguments"),
    ("x = getattr('a', 'nope')", "string has no .nope field or method"),
    ("x = 'a'.nope", "string has no .nope field or method"),
    ("x = range(1, 2, 0)", "range: step argument must not be zero"),
    ("x = 1 in 'abc'", "'in <string>' requires string as left operand, not int"),
    ("x = hash(1)", "hash: got int, want string or bytes"),
    ("x = ord('ab')", "ord: string encodes 2 Unicode code points, want 1"),
    ("x = chr(-1)", "chr: Unicode code point -1 out of range (<0)"),
    ("x = [1, 2]\nfor k in x:\n    x.append(3)", "append: cannot append to list during iteration"),
    ("x = [1, 2]\nfor k in x:\n    x[0] = 5", "cannot assign to element of list during iteration"),
    ("x = [1, 2]\nfor k in x:\n    x += [1]", "cannot apply += to list during iteration"),
    ("x = {'a': 1}\nfor k in x:\n    x['b'] = 2", "cannot insert into hash table during iteration"),
    ("x = {'a': 1}\nfor k in x:\n    x.pop('a')", "pop: cannot delete from hash table during iteration"),
    ("x = [1, 2]\ny = [v for v in x if x.append(1)]", "append: cannot append to list during iteration"),
    ("l = [1, 2, 3]\nl[1:2] = [5]", "can't assign to slice expression"),
    ("def f(a, b=1):\n    pass\nf(1, 2, 3)", "function f accepts at most 2 positional arguments (3 given)"),
    ("def f(a, b):\n    pass\nf(1, 2, 3)", "function f accepts 2 positional arguments (3 given)"),
    ("def f():\n    pass\nf(1)", "function f accepts no arguments (1 given)"),
    ("def f(a, b):\n    pass\nf()", "function f missing 2 arguments (a, b)"),
    ("def f(a):\n    pass\nf(1, a=2)", 'function f got multiple values for parameter "a"'),
    ("def f(a):\n    pass\nf(b=2)", 'function f got an unexpected keyword argument "b"'),
    ("def f(a, *, b):\n    pass\nf(1, 2)", "function f accepts 1 positional argument (2 given)"),
    ("x = 1\nx()", "invalid call of non-function (int)"),
]


@pytest.mark.parametrize("src,fragment", ERRORS, ids=[f"e{i}" for i in range(len(ERRORS))])
def test_errors(tmp_path: Path, src: str, fragment: str) -> None:
    m = run(tmp_path, src)
    errs = [d for d in errors(m) if d.code.startswith(("TL2", "TL3"))]
    assert errs, f"expected an error containing {fragment!r}:\n{fmt(m)}"
    assert any(fragment in d.message for d in errs), f"want {fragment!r} in:\n{fmt(m)}"
    assert all(d.severity == Severity.ERROR for d in errs)


def test_error_is_located_at_the_failing_expression(tmp_path: Path) -> None:
    m = run(tmp_path, "x = 1\ny = {'a': 1}\nz = y['b'] + x\n")
    (d,) = errors(m)
    assert d.code == "TL302"
    assert start(d) == (2, 4)  # the subscript y['b']
    assert d.range.end.character == 10


def test_error_inside_function_has_call_chain(tmp_path: Path) -> None:
    m = run(tmp_path, "def inner():\n    return 1 // 0\ndef outer():\n    return inner()\nouter()\n")
    (d,) = errors(m)
    assert start(d) == (1, 11)
    assert [r.location.range.start.line for r in d.related] == [4, 3]
    assert "outer" in d.related[0].message and "inner" in d.related[1].message


def test_error_does_not_stop_evaluation(tmp_path: Path) -> None:
    m = run(tmp_path, "a = 1 // 0\nprint('still here')\nb = {}['k']\nprint(a, 'after')\n")
    assert [d.range.start.line for d in errors(m)] == [0, 2]
    # A name bound by a failed statement does not cascade into more errors.
    # print() of a value that failed to compute is skipped rather than guessed.
    assert prints(m) == ["still here"]


def test_names_bound_in_failed_statement_do_not_cascade(tmp_path: Path) -> None:
    m = run(tmp_path, "x, w = 1 // 0, 2\ny = x + w\nz = y['k']\n")
    assert len(errors(m)) == 1


def test_frozen_after_load(tmp_path: Path) -> None:
    m = run(
        tmp_path,
        "load('./lib.star', 'items', 'add')\nadd(3)\nitems.append(4)\n",
        {"lib.star": "items = [1]\ndef add(x):\n    items.append(x)\n"},
    )
    msgs = [d.message for d in errors(m)]
    assert any("cannot append to frozen list" in s for s in msgs), fmt(m)
    tl302 = [d for d in errors(m) if d.code == "TL302"]
    assert sorted(Path(d.path).name for d in tl302) == ["Tiltfile", "lib.star"]
    assert all(d.message == "append: cannot append to frozen list" for d in tl302)


def test_string_iteration_hint(tmp_path: Path) -> None:
    m = run(tmp_path, "for c in 'abc':\n    pass\n")
    (d,) = errors(m)
    assert ".elems()" in d.message


def test_unknown_poisoning_keeps_going(tmp_path: Path) -> None:
    # `v` is Unknown after the failing statement: using it must not report anything else.
    m = run(tmp_path, "v = {}['k']\nw = v.upper() + v[0] + len(v)\nfor i in v:\n    print(i)\nif v:\n    q = 1\nprint(q)\n")
    assert len(errors(m)) == 1, fmt(m)


def test_deep_but_finite_recursion_works(star: Callable[[str], list[str]]) -> None:
    assert star("def f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\nprint(f(300))") == ["300"]


def test_global_rebinding_and_load_rebinding(tmp_path: Path) -> None:
    m = run(tmp_path, "load('./a.star', 'v')\nv = v + 1\nprint(v)\n", {"a.star": "v = 1\n"})
    assert not errors(m), fmt(m)
    assert prints(m) == ["2"]


def test_print_sep_and_str_of_values(star: Callable[[str], list[str]]) -> None:
    assert star("print('a', 1, [2], sep='-')\nprint()") == ['a-1-[2]', ""]


def test_every_method_is_exercised() -> None:
    """Adding a str/list/dict/set method without a conformance case fails here."""
    from tilt_lsp.tiltfile import values

    sources = "\n".join(src for src, _ in VALUES) + "\n".join(src for src, _ in ERRORS)
    for table in (values.STR_METHODS, values.LIST_METHODS, values.DICT_METHODS, values.SET_METHODS):
        missing = [name for name in table if f".{name}(" not in sources]
        assert not missing, f"no conformance case calls: {missing}"
