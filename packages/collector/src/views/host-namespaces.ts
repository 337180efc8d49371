/**
 * A host's network namespaces on the dashboard (issue 10): the route the page reads and the
 * page's part that shows them, kept in one module so the dashboard page only calls it.
 *
 *   GET /api/v1/hosts/:id/namespaces   the namespaces of the host's latest snapshot, most sockets first:
 *     { host, stale, ts, recv_ts, namespaces: null | [ { netns, pid, runtime, id, pod_uid, pod,
 *       namespace, name, states, sockets, states_age_ms, states_unchanged } ] }
 *   (`namespaces` null: the host's agent reports none, i.e. runs without --namespaces.)
 *
 * On the page, each host row gets a "namespaces" toggle; an open host shows a table under its
 * row (netns, runtime, pod / container, Kubernetes namespace, the main states, all sockets, the
 * age of the counts), refreshed with every poll. Everything from agents is set as textContent.
 */
import { totalOfStates } from '@tcpfleet/common';
import type { NamespaceEntry, StateCounts } from '@tcpfleet/common';
import type { Fleet } from '../api/fleet.js';
import type { Handler } from '../http/router.js';
import { sendError, sendJson } from '../http/respond.js';

/** One namespace as the dashboard lists it. */
export interface NamespaceRow {
  netns: number;
  pid: number;
  runtime: string | null;
  id: string | null;
  pod_uid: string | null;
  pod: string | null;
  namespace: string | null;
  name: string | null;
  states: StateCounts;
  /** Sockets in the namespace: the sum of `states`. */
  sockets: number;
  states_age_ms: number;
  states_unchanged: boolean;
}

function row(e: NamespaceEntry): NamespaceRow {
  const c = e.container;
  return {
    netns: e.netns,
    pid: e.pid,
    runtime: c?.runtime ?? null,
    id: c?.id ?? null,
    pod_uid: c?.pod_uid ?? null,
    pod: c?.pod ?? null,
    namespace: c?.namespace ?? null,
    name: c?.name ?? null,
    states: e.states,
    sockets: totalOfStates(e.states),
    states_age_ms: e.collect.states_age_ms,
    states_unchanged: e.collect.states_unchanged,
  };
}

/** GET /api/v1/hosts/:id/namespaces, from the collector's in-memory latest snapshot of the host. */
export function hostNamespacesHandler(fleet: Fleet): Handler {
  return ({ res, params }) => {
    const host = params['id'] ?? '';
    const view = fleet.host(host, Date.now());
    if (view === null) return sendError(res, 404, 'TCPFLEET_ERR_NOT_FOUND', `unknown host ${JSON.stringify(host.slice(0, 80))}`);
    const list = view.namespaces === undefined ? null : view.namespaces.map(row).sort((a, b) => b.sockets - a.sockets || a.netns - b.netns);
    sendJson(res, 200, { host: view.host, stale: view.stale, ts: view.ts, recv_ts: view.recv_ts, namespaces: list });
  };
}

/** Styles of the namespaces part of the page. */
export const HOST_NAMESPACES_CSS = `
button.ns-toggle{background:none;border:1px solid var(--line);color:var(--accent);border-radius:4px;font-size:11px;padding:0 6px;margin-top:2px;cursor:pointer}
tr.ns-row>td{padding:0 0 8px 24px;background:var(--bg)}
table.ns{margin-top:4px}
table.ns td.pod{white-space:normal;max-width:420px;overflow-wrap:anywhere}
.ns-note{color:var(--dim);font-size:12px;padding:6px 0}
`;

/**
 * The page's script part: defines `tcpfleetNamespaces(authHeaders)`, which returns the function
 * the page calls after it rebuilt the hosts table (`(tbody, overview) => void`).
 */
export const HOST_NAMESPACES_SCRIPT = `
function tcpfleetNamespaces(authHeaders){
  "use strict";
  var open={},cache={},COLS=10;
  var el=function(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!==undefined&&text!==null)e.textContent=String(text);return e};
  function age(ms,unchanged){if(ms<1000)return "now";var s=Math.round(ms/1000);return (s<120?s+"s":Math.round(s/60)+"m")+(unchanged?" (unchanged)":"")}
  function table(host,d){
    var box=el("div");
    if(!d){box.appendChild(el("div","ns-note","loading namespaces\\u2026"));return box}
    if(d.error){box.appendChild(el("div","ns-note",d.error));return box}
    if(d.namespaces===null){box.appendChild(el("div","ns-note","This host's agent reports no namespaces (run it with --namespaces)."));return box}
    box.appendChild(el("div","ns-note",d.namespaces.length+" network namespace"+(d.namespaces.length===1?"":"s")+" besides the host's"));
    if(d.namespaces.length===0)return box;
    var t=el("table","ns"),hr=el("tr");t.dataset.host=host;
    ["netns","runtime","pod / container","k8s namespace","estab","time_wait","close_wait","listen","sockets","counts age"].forEach(function(h,i){hr.appendChild(el("th",i>=4&&i<=8?"num":null,h))});
    var th=el("thead");th.appendChild(hr);t.appendChild(th);var tb=el("tbody");
    d.namespaces.forEach(function(n){
      var tr=el("tr","ns-entry");tr.dataset.netns=String(n.netns);
      tr.appendChild(el("td",null,n.netns));
      tr.appendChild(el("td",null,n.runtime===null?"\\u2014":n.runtime));
      var who=n.pod!==null?n.pod+(n.name!==null?" / "+n.name:""):n.name!==null?n.name:n.id!==null?n.id.slice(0,12):"(no container)";
      var pc=el("td","pod",who);pc.dataset.col="who";if(n.id!==null)pc.title=n.runtime+" "+n.id+(n.pod_uid?" \\u00b7 pod uid "+n.pod_uid:"")+" \\u00b7 pid "+n.pid;tr.appendChild(pc);
      tr.appendChild(el("td",null,n.namespace===null?"":n.namespace));
      [["established",n.states.established],["time_wait",n.states.time_wait],["close_wait",n.states.close_wait],["listen",n.states.listen],["sockets",n.sockets]].forEach(function(c){var x=el("td","num",c[1]);x.dataset.col=c[0];tr.appendChild(x)});
      var a=el("td",null,age(n.states_age_ms,n.states_unchanged));a.dataset.col="age";tr.appendChild(a);
      tb.appendChild(tr);
    });
    t.appendChild(tb);box.appendChild(t);return box;
  }
  function fetchHost(host,redraw){
    fetch("api/v1/hosts/"+encodeURIComponent(host)+"/namespaces",{cache:"no-store",headers:authHeaders()}).then(function(r){
      if(!r.ok)throw new Error("collector answered "+r.status);return r.json()}).then(function(d){cache[host]=d},function(e){cache[host]={error:String(e.message||e)}}).then(redraw);
  }
  function place(tb,host){
    var row=tb.querySelector('tr[data-host="'+CSS.escape(host)+'"]');if(!row)return;
    var old=row.nextElementSibling;if(old&&old.classList.contains("ns-row"))old.remove();
    if(!open[host])return;
    var tr=el("tr","ns-row"),td=el("td");td.colSpan=COLS;tr.dataset.nsHost=host;td.appendChild(table(host,cache[host]));tr.appendChild(td);row.after(tr);
  }
  return function(tb,o){
    o.hosts.forEach(function(h){
      var row=tb.querySelector('tr[data-host="'+CSS.escape(h.host)+'"]');if(!row)return;
      var b=el("button","ns-toggle",open[h.host]?"\\u25be namespaces":"\\u25b8 namespaces");b.type="button";b.setAttribute("aria-expanded",open[h.host]?"true":"false");
      b.onclick=function(){open[h.host]=!open[h.host];b.textContent=open[h.host]?"\\u25be namespaces":"\\u25b8 namespaces";b.setAttribute("aria-expanded",open[h.host]?"true":"false");place(tb,h.host);if(open[h.host])fetchHost(h.host,function(){place(tb,h.host)})};
      row.firstChild.appendChild(b);
      if(open[h.host]){place(tb,h.host);fetchHost(h.host,function(){place(tb,h.host)})}
    });
  };
}
`;
