"""The HTML shell every page shares: styles (light and dark), the header, a small script.

No external asset, no framework, no build step. The script does two things: it writes each
``<time>`` in the viewer's own time zone (its tooltip), and it refreshes the page's content
every 30 seconds unless the viewer is typing in a form. Without JavaScript a meta refresh
does the refreshing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from monitord.api import timefmt
from monitord.model import Status

REFRESH = 30

CSS = """
:root{--bg:#f6f8fa;--fg:#1f2328;--muted:#59636e;--card:#fff;--line:#d1d9e0;--link:#0969da;
--ok:#1a7f37;--warn:#bf8700;--crit:#cf222e;--unk:#818b98;--none:#dfe4e9;--p0:#8250df;
--p1:#0969da;--p2:#1a7f37;--p3:#bc4c00;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;
--card:#151b23;--line:#30363d;--link:#4493f8;--ok:#3fb950;--warn:#d29922;--crit:#f85149;
--unk:#9198a1;--none:#2a313c;--p0:#ab7df8;--p1:#4493f8;--p2:#3fb950;--p3:#db6d28}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
header{display:flex;flex-wrap:wrap;gap:.5em 1.5em;align-items:center;padding:.8em 1.2em;
background:var(--card);border-bottom:1px solid var(--line)}
header h1{font-size:1.15em;margin:0}header .who{margin-left:auto;color:var(--muted)}
header form{display:inline}
main{max-width:1180px;margin:0 auto;padding:1em}
h2{font-size:1.05em;margin:1.4em 0 .5em}h2 .meta{font-weight:normal;color:var(--muted)}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.8em 1em;
margin:.6em 0}
.card.crit{border-left:5px solid var(--crit)}.card.warn{border-left:5px solid var(--warn)}
.card.unk{border-left:5px solid var(--unk)}
.summary{display:flex;gap:1em;flex-wrap:wrap}.summary .big{font-size:1.6em;font-weight:600}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid var(--line);vertical-align:middle}
th{font-weight:600;color:var(--muted);font-size:.85em}
.scroll{overflow-x:auto}
.badge{display:inline-block;min-width:5.5em;text-align:center;padding:.05em .5em;
border-radius:1em;font-size:.8em;font-weight:600;color:#fff}
.b-ok{background:var(--ok)}.b-warn{background:var(--warn)}.b-crit{background:var(--crit)}
.b-unk,.b-none{background:var(--unk)}
.s-ok{fill:var(--ok)}.s-warn{fill:var(--warn)}.s-crit{fill:var(--crit)}.s-unk{fill:var(--unk)}
.s-none{fill:var(--none)}
.p0{fill:var(--p0);opacity:.55}.p1{fill:var(--p1);opacity:.55}.p2{fill:var(--p2);opacity:.55}
.p3{fill:var(--p3);opacity:.55}.ph{opacity:.55}.ph polygon{opacity:1}
.total{fill:none;stroke:var(--fg);stroke-width:1.2;vector-effect:non-scaling-stroke}
.scale svg,.service svg.bar{width:100%}.scale{margin-bottom:.8em}
svg{vertical-align:middle}.dot{margin-right:2px}
.muted{color:var(--muted)}.num{font-variant-numeric:tabular-nums;white-space:nowrap}
pre{white-space:pre-wrap;margin:.4em 0;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;
background:var(--bg);padding:.5em .7em;border-radius:6px}
form.inline{display:inline-flex;gap:.4em;flex-wrap:wrap;align-items:center;margin:.3em 0}
input,select,button{font:inherit;color:inherit;background:var(--card);border:1px solid var(--line);
border-radius:6px;padding:.25em .5em}
button{cursor:pointer;background:var(--link);color:#fff;border-color:var(--link)}
button.quiet{background:transparent;color:var(--link)}
.timeline{list-style:none;padding:0;margin:.4em 0}
.timeline li{padding:.15em 0 .15em .8em;border-left:3px solid var(--line)}
.timeline li.problem,.timeline li.failed{border-color:var(--crit)}
.timeline li.recovery{border-color:var(--ok)}.timeline li.acknowledged{border-color:var(--link)}
dl.config{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:0}
dl.config dt{color:var(--muted)}dl.config dd{margin:0;word-break:break-all}
.legend span{margin-right:.8em;font-size:.85em}.legend i{display:inline-block;width:.8em;
height:.8em;border-radius:2px;margin-right:.3em;vertical-align:-1px}
tr.stale{opacity:.6}.tag{font-size:.8em;color:var(--muted);border:1px solid var(--line);
border-radius:1em;padding:0 .45em;margin-left:.3em}
ul.findings{margin:.4em 0;padding-left:1.2em}ul.findings li{margin:.1em 0}
ul.evidence{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;list-style:none;
padding-left:0}ul.evidence li{padding-left:.6em;border-left:3px solid var(--ok)}
ul.evidence li.failed{border-color:var(--crit)}ul.evidence li.unfinished{border-color:var(--warn)}
.login{max-width:24em;margin:3em auto}.login label{display:block;margin:.6em 0 .2em}
.login input{width:100%}.error{color:var(--crit)}
@media (max-width:720px){.wide{display:none}main{padding:.5em}th,td{padding:.3em .35em}
td svg.bar{width:96px}.badge{min-width:0}}
"""

SCRIPT = """
(function(){
function localise(root){root.querySelectorAll('time[datetime]').forEach(function(t){
var d=new Date(t.getAttribute('datetime'));if(isNaN(d))return;
var s=d.toLocaleString(undefined,{dateStyle:'medium',timeStyle:'medium'});
if(t.hasAttribute('data-abs'))t.textContent=s;else t.title=s;});}
localise(document);
setInterval(function(){
var a=document.activeElement;
if(document.hidden||(a&&/INPUT|SELECT|TEXTAREA/.test(a.tagName)))return;
fetch(location.href,{credentials:'same-origin'}).then(function(r){return r.ok?r.text():null})
.then(function(h){if(!h)return;var d=new DOMParser().parseFromString(h,'text/html');
var n=d.getElementById('content'),o=document.getElementById('content');
if(n&&o){o.replaceWith(n);localise(n);}}).catch(function(){});
},REFRESH000);
})();
""".replace("REFRESH000", str(REFRESH * 1000))


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who looks: a logged-in user (with the session's CSRF token) or a reader."""

    user: str | None = None
    csrf: str = ""
    can_login: bool = True

    @property
    def can_act(self) -> bool:
        return self.user is not None


def esc(value: object) -> str:
    return escape(str(value))


BADGE = {Status.OK: "b-ok", Status.WARNING: "b-warn", Status.CRITICAL: "b-crit",
         Status.UNKNOWN: "b-unk", None: "b-none"}


def badge(status: Status | None, text: str | None = None) -> str:
    label = text or (status.name if status is not None else "PENDING")
    return f'<span class="badge {BADGE[status]}">{esc(label)}</span>'


def when(moment: datetime | int, text: str | None = None) -> str:
    """A ``<time>``: ``text`` (e.g. "12 min") shown, the absolute time in its tooltip; with
    no ``text``, the absolute time itself (localised by the script)."""
    iso = timefmt.iso(moment)
    shown = timefmt.display(moment)
    if text is None:
        return f'<time datetime="{iso}" data-abs title="{shown}">{shown}</time>'
    return f'<time datetime="{iso}" title="{shown}">{esc(text)}</time>'


def csrf_field(viewer: Viewer) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(viewer.csrf)}">'


def page(title: str, body: str, viewer: Viewer, *, nav: str = "", refresh: bool = True) -> str:
    if viewer.user is not None:
        who = (f'<span class="who">{esc(viewer.user)} · <form method="post" action="/logout">'
               f'{csrf_field(viewer)}<button class="quiet" type="submit">Log out</button>'
               f"</form></span>")
    elif viewer.can_login:
        who = '<span class="who">read-only · <a href="/login">Log in</a></span>'
    else:
        who = ""
    meta = (f'<noscript><meta http-equiv="refresh" content="{REFRESH}"></noscript>'
            if refresh else "")
    script = f"<script>{SCRIPT}</script>" if refresh else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="color-scheme" content="light dark">{meta}'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1><a href="/">monitord</a></h1>{nav}{who}</header>'
        f'<main id="content">{body}</main>{script}</body></html>'
    )
