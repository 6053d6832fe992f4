"""Boxes drawn on the map as Leaflet controls: a legend and a title panel with the filters.

They are plain HTML built here (every text escaped) rather than branca colour maps, whose
legends load d3 from a CDN.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

from folium import MacroElement
from folium.template import Template


class HtmlControl(MacroElement):
    """A Leaflet control whose content is a fixed piece of HTML."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, content: str, *, position: str, css_class: str) -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.html = content
        self.position = position
        self.css_class = css_class


@dataclass(frozen=True)
class LegendEntry:
    label: str
    colour: str
    #: A dashed outline of the colour (an overlay's border) rather than a filled swatch.
    outline: bool = False

    def swatch_style(self) -> str:
        colour = html.escape(self.colour)
        if self.outline:
            return f"background:transparent;border:2px dashed {colour}"
        return f"background:{colour}"


def legend(title: str, entries: Sequence[LegendEntry], *, note: str = "") -> HtmlControl:
    """A box of colour swatches in the bottom-right corner."""
    rows = "".join(
        f'<div><i style="{entry.swatch_style()}"></i>{html.escape(entry.label)}</div>'
        for entry in entries
    )
    foot = f"<p><small>{html.escape(note)}</small></p>" if note else ""
    return HtmlControl(f"<strong>{html.escape(title)}</strong>{rows}{foot}",
                       position="bottomright", css_class="gis-box gis-legend")


@dataclass(frozen=True)
class FormField:
    """One filter of a page's form: a select when ``choices`` is given, else an input."""

    name: str
    label: str
    value: str = ""
    input_type: str = "text"
    choices: Sequence[tuple[str, str]] = field(default_factory=tuple)


def _field_html(spec: FormField) -> str:
    name, label = html.escape(spec.name), html.escape(spec.label)
    if spec.input_type == "hidden":
        return f'<input name="{name}" type="hidden" value="{html.escape(spec.value)}">'
    if spec.choices:
        options = "".join(
            f'<option value="{html.escape(value)}"'
            f'{" selected" if value == spec.value else ""}>{html.escape(text)}</option>'
            for value, text in spec.choices
        )
        widget = f'<select name="{name}">{options}</select>'
    else:
        widget = (f'<input name="{name}" type="{html.escape(spec.input_type)}" '
                  f'value="{html.escape(spec.value)}">')
    return f"<label>{label} {widget}</label>"


def panel(title: str, lines: Sequence[str] = (), form: Sequence[FormField] = (),
          links: Sequence[tuple[str, str]] = ()) -> HtmlControl:
    """The page's title, a few lines of context, links (text, URL) to related views, and a GET
    form that reloads it with new filters."""
    text = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    text += "".join(f'<p><a href="{html.escape(url)}">{html.escape(label)}</a></p>'
                    for label, url in links)
    fields = "".join(_field_html(spec) for spec in form)
    # An empty action submits to the page itself, wherever the app is mounted.
    form_html = (f'<form class="gis-form" method="get" action="">{fields}'
                 '<button type="submit">Apply</button></form>') if form else ""
    return HtmlControl(f"<h1>{html.escape(title)}</h1>{text}{form_html}",
                       position="topleft", css_class="gis-box gis-panel")
