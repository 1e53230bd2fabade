// The portal's one stylesheet (served at /static/portal.css; the CSP allows no inline style). Readable on a phone:
// one column, tables scroll sideways in their own box, focus always visible, colours with enough contrast.
#pragma once

#include <string_view>

namespace portal {

inline constexpr std::string_view kStylesheet = R"(*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;color:#1a1a1a;background:#fff}
header{background:#123c63;color:#fff;padding:.5em 1em;display:flex;flex-wrap:wrap;align-items:center;gap:.5em 1em}
header .brand{font-weight:bold;margin:0}
header nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25em .75em}
header a{color:#fff}
header a[aria-current=page]{font-weight:bold;text-decoration-thickness:3px}
header form.signout{margin-left:auto}
main{max-width:60em;margin:0 auto;padding:1em}
a{color:#0b4f8a}
a:focus,button:focus,input:focus,select:focus{outline:3px solid #d97b00;outline-offset:2px}
.skip{position:absolute;left:-999em}
.skip:focus{left:1em;top:1em;background:#fff;color:#123c63;padding:.5em;z-index:1}
label{display:block;font-weight:600}
input[type=checkbox]+label,input[type=radio]+label{display:inline;font-weight:normal}
input,select,button{font:inherit;padding:.4em;max-width:100%}
button{background:#123c63;color:#fff;border:0;border-radius:4px;padding:.5em 1em;cursor:pointer}
header button{background:#fff;color:#123c63}
.problem{background:#fde8e6;border-left:4px solid #a4261a;padding:.5em}
.done{background:#e6f4e6;border-left:4px solid #2a6b2a;padding:.5em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
caption{text-align:left;font-weight:600;padding:.3em 0}
th,td{padding:.3em .5em;border-bottom:1px solid #ccc;text-align:left}
.n{text-align:right;font-variant-numeric:tabular-nums}
.period td{color:#444;font-size:.9em;border-bottom:none}
figure{margin:1em 0}
svg.chart,svg.timeline{width:100%;height:auto}
section.pev{border-top:1px solid #ccc;margin-top:1em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}
dt{font-weight:600}
dd{margin:0}
fieldset{border:1px solid #aaa;border-radius:4px}
.pager a{margin-right:.75em}
@media (max-width:40em){dl{grid-template-columns:1fr}header form.signout{margin-left:0}}
)";

}  // namespace portal
