"""The shared Mermaid corpus, and the pure-Python validator's verdicts on it.

VALID must pass both validators; INVALID entries carry the 1-based line the Python validator
must point at (mermaid.parse must also reject them; its line numbers are its own).
"""

from __future__ import annotations

import pytest

from googlive.features.tools.mermaid_check import check_mermaid

VALID: dict[str, str] = {
    "graph_td": "graph TD\n  A[Start] --> B{Is it?}\n  B -->|Yes| C[OK]\n  B -- No --> D[End]\n",
    "flowchart_shapes": (
        "flowchart LR\n  a([stadium]) --> b[[sub]]\n  b --> c[(db)]\n  c --> d((circle))\n"
        "  d -.-> e>flag]\n  e ==> f{{hex}}\n  f --- g[/para/]\n  g --o h[\\alt\\]\n  h --x i(((dbl)))\n"
    ),
    "flowchart_subgraph": (
        "flowchart TB\n  subgraph one [First part]\n    direction LR\n    a1 --> a2\n  end\n"
        "  subgraph two\n    b1 --> b2\n  end\n  one --> two\n  a1 & a2 --> b1\n"
    ),
    "flowchart_quoted": 'flowchart TD\n  A["f(x) = [1, 2]"] --> B("say {hi}")\n  A -->|"a | label"| B\n',
    "flowchart_semicolons": "graph LR; A-->B; B-->C;\n",
    "flowchart_styles": (
        "flowchart TD\n  A:::hot --> B\n  classDef hot fill:#f96\n  style B fill:#bbf,stroke:#333\n  linkStyle 0 stroke:#ff3\n  %% a comment\n"
    ),
    "flowchart_text_edges": "graph TD\n  A -- text --> B\n  B == thick ==> C\n  C -. dotted .-> D\n  D <--> E\n  E ~~~ F\n",
    "sequence": (
        "sequenceDiagram\n  participant A as Alice\n  actor B\n  autonumber\n  A->>B: Hello\n  B-->>A: Hi\n"
        "  A-)B: async\n  A-xB: lost\n  activate B\n  deactivate B\n  Note right of A: thinking\n"
        "  Note over A,B: both\n  loop Every minute\n    A->>+B: ping\n    B->>-A: pong\n  end\n"
        "  alt ok\n    A->>B: yes\n  else fail\n    A->>B: no\n  end\n  par one\n    A->>B: x\n  and two\n    B->>A: y\n  end\n"
    ),
    "class": (
        "classDiagram\n  class Animal {\n    +String name\n    +eat() void\n  }\n  class Duck\n"
        "  Animal <|-- Duck\n  Animal *-- Leg\n  Animal o-- Owner : has\n  Duck ..> Water\n  Duck ..|> Swimmer\n"
        '  Owner "1" --> "*" Animal\n  Animal : +int age\n  <<interface>> Swimmer\n'
    ),
    "state": (
        "stateDiagram-v2\n  [*] --> Still\n  Still --> [*]\n  Still --> Moving : push\n  Moving --> Crash\n"
        '  state Moving {\n    slow --> fast\n  }\n  state "Long name" as LN\n  Crash --> LN\n'
        "  state fork_state <<fork>>\n  note right of Crash : ouch\n  Crash : a description\n"
    ),
    "state_v1": "stateDiagram\n  [*] --> A\n  A --> B\n",
    "er": (
        "erDiagram\n  CUSTOMER ||--o{ ORDER : places\n  ORDER ||--|{ LINE-ITEM : contains\n"
        '  CUSTOMER }|..|{ DELIVERY-ADDRESS : uses\n  CUSTOMER {\n    string name PK\n    string email "login"\n  }\n'
    ),
    "gantt": (
        "gantt\n  title A plan\n  dateFormat YYYY-MM-DD\n  section Build\n  Design :a1, 2024-01-01, 3d\n"
        "  Code :after a1, 5d\n  section Ship\n  Release :milestone, 2024-01-10, 0d\n"
    ),
    "pie": 'pie showData\n  title Pets\n  "Dogs" : 386\n  "Cats" : 85.5\n',
    "pie_plain": 'pie\n  "A" : 1\n  "B" : 2\n',
    "mindmap": "mindmap\n  root((Ideas))\n    Origins\n      Long history\n    Tools[Pen and paper]\n    Research(Studies)\n",
    "journey": "journey\n  title My day\n  section Work\n    Make tea: 5: Me\n    Do work: 1: Me, Cat\n",
    "timeline": "timeline\n  title History\n  2002 : LinkedIn\n  2004 : Facebook : Google\n       : more\n",
    "front_matter_title": "---\ntitle: Hello\n---\ngraph TD\n  A-->B\n",
    "graph_default_dir": "graph\n  A-->B\n",
}

# name -> (source, line the Python validator must report)
INVALID: dict[str, tuple[str, int]] = {
    "unknown_type": ("flowchat TD\n  A-->B\n", 1),
    "bad_direction": ("graph XY\n  A-->B\n", 1),
    "unclosed_bracket": ("graph TD\n  A[Start --> B\n  B --> C\n", 2),
    "unclosed_quote": ('graph TD\n  A --> B\n  B["oops] --> C\n', 3),
    "brackets_in_label": ("graph TD\n  A --> B\n  B --> C[f(x)]\n", 3),
    "single_dash_arrow": ("graph TD\n  A --> B\n  B -> C\n", 3),
    "unclosed_subgraph": ("flowchart TD\n  subgraph S\n    A --> B\n", 2),
    "stray_end": ("flowchart TD\n  A --> B\n  end\n", 3),
    "dangling_arrow": ("graph LR\n  A -->\n", 2),
    "mismatched_shape": ("graph LR\n  A(round] --> B\n", 2),
    "unclosed_pipe_label": ("graph LR\n  A -->|yes B\n", 2),
    "trailing_node": ("graph TD\n  A --> B C\n", 2),
    "seq_missing_text": ("sequenceDiagram\n  Alice->>Bob: hi\n  Alice->>Bob\n", 3),
    "seq_unclosed_loop": ("sequenceDiagram\n  loop forever\n    A->>B: x\n", 2),
    "seq_stray_end": ("sequenceDiagram\n  A->>B: x\n  end\n", 3),
    "seq_bad_arrow": ("sequenceDiagram\n  A=>B: x\n", 2),
    "class_unclosed_body": ("classDiagram\n  class A {\n    +x int\n", 2),
    "state_bad_arrow": ("stateDiagram-v2\n  [*] --> A\n  A -> B\n", 3),
    "state_unclosed": ("stateDiagram-v2\n  state X {\n    a --> b\n", 2),
    "er_no_label": ("erDiagram\n  A ||--o{ B\n", 2),
    "er_bad_cardinality": ("erDiagram\n  A ||--x{ B : has\n", 2),
    "pie_no_colon": ('pie\n  "Dogs" 386\n', 2),
    "pie_unquoted": ("pie\n  Dogs : 3\n", 2),
    "journey_no_score": ("journey\n  section S\n    Make tea: Me\n", 3),
    "gantt_no_colon": ("gantt\n  dateFormat YYYY-MM-DD\n  section S\n  Task without data\n", 4),
    "mindmap_two_roots": ("mindmap\n  root\n    a\n  other\n", 4),
    "empty": ("\n\n", 0),
}

# Rejected by the Python validator although mermaid.parse accepts them (the renderer then draws
# nonsense, e.g. a journey task without a score): deliberate strictness, listed so the
# cross-check knows.
PYTHON_STRICTER = {"journey_no_score"}

# Accepted by mermaid.parse but refused by this app (security), with the line reported.
UNSAFE: dict[str, tuple[str, int]] = {
    "init_directive": ('%%{init: {"securityLevel": "loose"}}%%\ngraph TD\n  A-->B\n', 1),
    "click_js": ('graph TD\n  A-->B\n  click A href "javascript:alert(1)"\n', 3),
    "click_callback": ("graph TD\n  A-->B\n  click A callback\n", 3),
    "fence": ("graph TD\n  A-->B\n  %% ```\n", 3),
    "front_matter_config": ("---\nconfig:\n  securityLevel: loose\n---\ngraph TD\n  A-->B\n", 2),
    "script_tag": ('graph TD\n  A["<script>alert(1)</script>"] --> B\n', 2),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_python_validator_accepts_valid_corpus(name: str) -> None:
    """Every valid diagram in the corpus passes the pure-Python validator."""
    check = check_mermaid(VALID[name])
    assert check.ok, [str(e) for e in check.errors]
    assert check.diagram_type is not None


@pytest.mark.parametrize("name", sorted(INVALID))
def test_python_validator_reports_line_of_each_invalid_class(name: str) -> None:
    """Each class of mistake is rejected, with the error on the expected line."""
    code, line = INVALID[name]
    check = check_mermaid(code)
    assert not check.ok
    assert check.errors[0].line == line, [str(e) for e in check.errors]
    assert check.errors[0].message


@pytest.mark.parametrize("name", sorted(UNSAFE))
def test_unsafe_content_is_rejected_with_its_line(name: str) -> None:
    """Directives, interactive links, fences and script tags are refused on their line."""
    code, line = UNSAFE[name]
    check = check_mermaid(code)
    assert not check.ok
    assert line in [e.line for e in check.errors], [str(e) for e in check.errors]
