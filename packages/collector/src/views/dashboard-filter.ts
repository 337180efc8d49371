/**
 * The dashboard's host filter: a label selector box (docs/selectors.md) above the fleet, kept in
 * the page's URL (`?selector=`), so a filtered view can be bookmarked and shared. Its markup,
 * style and script are spliced into the page by dashboard-page.ts; the script defines
 * `hostFilter(params, onChange)`, which the page calls once and asks for the parameter to add to
 * its fetches and its own URL (`param()`: `&selector=...`, or nothing), and to show the
 * collector's one-line refusal of a bad selector (`refused(message)`).
 */

/** Style of the box. */
export const FILTER_CSS = `#filter{display:flex;align-items:center;gap:8px;margin:4px 0 0}
#filter input{background:var(--panel);color:var(--fg);border:1px solid var(--line);border-radius:4px;padding:4px 8px;width:420px;font:13px ui-monospace,SFMono-Regular,Menlo,monospace}
#filter input.bad{border-color:var(--bad)}
#filter button{background:var(--panel);color:var(--fg);border:1px solid var(--line);border-radius:4px;padding:3px 10px;cursor:pointer}
#filter-error{color:var(--bad);font-size:12px}
#filter-on{color:var(--accent);font-size:12px}`;

/** The box: a form, so Enter applies it. */
export const FILTER_HTML = `<form id="filter" autocomplete="off"><input id="selector" type="text" spellcheck="false" placeholder="label selector, e.g. env=prod,role in (web,api),!canary" aria-label="label selector"><button type="submit">filter</button><button type="button" id="filter-clear">clear</button><span id="filter-on"></span><span id="filter-error"></span></form>`;

/** The script (ES5, inside the page's function): defines hostFilter(params, onChange). */
export const FILTER_SCRIPT = `function hostFilter(params,onChange){
  var box=document.getElementById("selector"),err=document.getElementById("filter-error"),on=document.getElementById("filter-on");
  var current=(params.get("selector")||"").trim();
  box.value=current;
  function show(){on.textContent=current?"showing hosts matching "+current:"";err.textContent="";box.className=""}
  function apply(text){current=text.trim();box.value=current;show();onChange()}
  document.getElementById("filter").onsubmit=function(ev){ev.preventDefault();apply(box.value)};
  document.getElementById("filter-clear").onclick=function(){apply("")};
  show();
  return {
    param:function(){return current?"&selector="+encodeURIComponent(current):""},
    refused:function(message){err.textContent=message;on.textContent="";box.className="bad"}
  };
}`;
