"""The scorecards page (/scorecards): the cards of one grouping as a table, and urban wards
against rural communes beneath, in Vietnamese unless ``lang=en`` or the browser asks for
English. Plain HTML and CSS from this app only (no script), so it works offline."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, url_for
from flask_babel import get_locale, lazy_gettext

from gis_service.web.map_args import query_args
from gis_service.web.scorecards import ScorecardArgs, compute

blp = Blueprint("scorecard_pages", __name__)

GROUPING_LABELS = {"agency": lazy_gettext("Agency"), "commune": lazy_gettext("Ward or commune"),
                   "category": lazy_gettext("Category"),
                   "setting": lazy_gettext("Urban or rural")}
SETTING_LABELS = {"urban": lazy_gettext("Urban wards"), "rural": lazy_gettext("Rural communes"),
                  "unknown": lazy_gettext("Unknown setting")}
PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'self'")


class ScorecardPageArgs(ScorecardArgs):
    """/v1/scorecards' parameters (the same checks), without an output format."""

    class Meta:
        exclude = ("format",)


def _api_link(args: dict[str, Any], output: str) -> str:
    query = {"by": args["by"], "format": output}
    for name, key in (("from", "from_"), ("to", "to")):
        if args.get(key) is not None:
            query[name] = args[key].isoformat()
    return f"{url_for('scorecards.get_scorecards')}?{urlencode(query)}"


@blp.get("/scorecards")
def page() -> Response:
    """Scorecards (?by=&from=&to=&lang=, as /v1/scorecards)."""
    args = query_args(ScorecardPageArgs)
    card = compute(args)
    by_setting = compute({**args, "by": "setting"}, now=card.now)
    html = render_template(
        "scorecards.html", card=card, by_setting=by_setting, locale=str(get_locale()),
        groupings=GROUPING_LABELS, settings=SETTING_LABELS, json_url=_api_link(args, "json"),
        csv_url=_api_link(args, "csv"), lang_query={lang: urlencode(
            {**{k: v for k, v in _form_values(args).items() if v}, "lang": lang})
            for lang in ("vi", "en")})
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


def _form_values(args: dict[str, Any]) -> dict[str, str]:
    return {"by": args["by"],
            "from": args["from_"].isoformat() if args.get("from_") else "",
            "to": args["to"].isoformat() if args.get("to") else ""}
