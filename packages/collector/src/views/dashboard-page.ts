/**
 * The fleet dashboard served at `/`: one self-contained page (HTML, CSS and script inline, no
 * framework, no external requests) that polls /api/v1/overview every two seconds. Kept as a
 * TypeScript module so tsc ships it in dist/ with the rest of the collector.
 *
 * Everything that came from an agent (host names, labels) is set through textContent, never as
 * HTML.
 *
 * The page itself holds no fleet data. When the collector protects reads (a read token is set),
 * /api/v1/overview answers 401: the page then asks for the read token once, keeps it for the tab
 * (sessionStorage, gone when the tab closes) and sends it as `Authorization: Bearer` on every
 * fetch; a token refused later is forgotten and asked for again.
 *
 * The label selector box (`?selector=`) is its own module, dashboard-filter.ts.
 * A host's network namespaces (the row's toggle) are host-namespaces.ts's part of the page.
 * A click on a host row opens the host's page (`#host=NAME`, host-page.ts); the fleet chart is
 * fleet-chart.ts; both draw with uPlot, served by the collector (chart-assets.ts, chart-common.ts).
 */
import { FILTER_CSS, FILTER_HTML, FILTER_SCRIPT } from './dashboard-filter.js';
import { HOST_NAMESPACES_CSS, HOST_NAMESPACES_SCRIPT } from './host-namespaces.js';
import { CHART_CSS, CHART_SCRIPT } from './chart-common.js';
import { FLEET_CHART_HTML, FLEET_CHART_SCRIPT } from './fleet-chart.js';
import { HOST_PAGE_CSS, HOST_PAGE_HTML, HOST_PAGE_SCRIPT } from './host-page.js';

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tcpfleet</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/uplot.css">
<style>
:root{--bg:#0f1419;--panel:#171d24;--line:#263040;--fg:#d8dee6;--dim:#8a96a6;--accent:#4fb3ff;--warn:#ffb454;--bad:#ff6b6b;--ok:#7bd88f}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;align-items:center;gap:16px;padding:12px 20px;border-bottom:1px solid var(--line)}
header h1{font-size:18px;margin:0;letter-spacing:.5px}
header .meta{color:var(--dim);font-size:12px;margin-left:auto}
#live{display:inline-block;width:8px;height:8px;border-radius:50%;background:var(--dim);margin-right:6px}
#live.on{background:var(--ok)} #live.off{background:var(--bad)}
main{padding:16px 20px;max-width:1400px}
h2{font-size:13px;text-transform:uppercase;letter-spacing:1px;color:var(--dim);margin:18px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(120px,1fr));gap:8px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 10px;cursor:pointer}
.card.sel{border-color:var(--accent)}
.card .n{font-size:22px;font-variant-numeric:tabular-nums}
.card .k{color:var(--dim);font-size:12px}
.summary{color:var(--dim);margin-top:8px;font-variant-numeric:tabular-nums}
table{width:100%;border-collapse:collapse;background:var(--panel);border:1px solid var(--line);border-radius:6px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{color:var(--dim);font-weight:500;font-size:12px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.stale td{color:var(--dim)}
.badge{font-size:11px;padding:1px 6px;border-radius:8px;border:1px solid}
.badge.live{color:var(--ok);border-color:var(--ok)} .badge.stale{color:var(--warn);border-color:var(--warn)}
.labels{color:var(--dim);font-size:12px}
svg.spark{display:block}
#alerts .alert{background:var(--panel);border-left:3px solid var(--bad);padding:6px 10px;margin-bottom:6px}
#alerts .none{color:var(--dim)}
#empty{background:var(--panel);border:1px dashed var(--line);border-radius:6px;padding:28px;text-align:center;color:var(--dim)}
#empty code{color:var(--fg)}
#error{color:var(--bad);margin-left:8px}
select{background:var(--panel);color:var(--fg);border:1px solid var(--line);border-radius:4px;padding:2px 6px}
#login{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:20px;margin:16px 0;max-width:520px}
#login input{background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:4px;padding:4px 8px;width:320px}
#login button{background:var(--accent);color:var(--bg);border:0;border-radius:4px;padding:5px 12px;margin-left:6px;cursor:pointer}
#login .dim{color:var(--dim);font-size:12px}
${FILTER_CSS}
${HOST_NAMESPACES_CSS}${CHART_CSS}${HOST_PAGE_CSS}</style>
</head>
<body>
<header><h1>tcpfleet</h1><span><span id="live"></span><span id="status">connecting</span><span id="error"></span></span>
<span class="meta">rank by <select id="state"></select> &nbsp; updated <span id="updated">never</span></span></header>
<main>
<form id="login" hidden><p><strong>This collector needs a read token.</strong> <span id="login-why"></span></p><p><input id="login-token" type="password" autocomplete="off" placeholder="read token" aria-label="read token"><button type="submit">Show the fleet</button></p><p class="dim">Kept for this tab only (sessionStorage). tcpfleet token create --read NAME makes one.</p></form>
<div id="fleetview">
${FILTER_HTML}
<h2>Fleet <span id="fleet-hosts"></span></h2>
<div class="cards" id="totals"></div>
<div class="summary" id="ss"></div>
${FLEET_CHART_HTML}
<h2>Firing alerts</h2>
<div id="alerts"><div class="none">no alerts firing</div></div>
<h2>Hosts</h2>
<div id="empty" hidden><p><strong>No hosts have reported yet.</strong></p><p>Start an agent on a host:<br><code id="empty-cmd">tcpfleet-agent --collector ws://COLLECTOR:7070 --token-file /etc/tcpfleet/token</code></p><p>It appears here within one interval.</p></div>
<table id="hosts" hidden><thead><tr><th>host</th><th class="num" id="value-head">established</th><th id="spark-head">last hour</th><th class="num">estab</th><th class="num">time_wait</th><th class="num">close_wait</th><th class="num">listen</th><th class="num">ss total</th><th>last seen</th><th>status</th></tr></thead><tbody></tbody></table>
</div>
${HOST_PAGE_HTML}
</main>
<script src="assets/uplot.js"></script>
<script>
${HOST_NAMESPACES_SCRIPT}
${CHART_SCRIPT}
${HOST_PAGE_SCRIPT}
${FLEET_CHART_SCRIPT}
(function(){
"use strict";
var STATES=["established","syn_sent","syn_recv","fin_wait1","fin_wait2","time_wait","close","close_wait","last_ack","listen","closing","new_syn_recv"];
var POLL_MS=2000;
var params=new URLSearchParams(location.search);
var state=params.get("state")||"established";
var windowMs=/^\\d+$/.test(params.get("window")||"")?params.get("window"):"";
if(STATES.indexOf(state)<0)state="established";
var $=function(id){return document.getElementById(id)};
${FILTER_SCRIPT}
var filter=hostFilter(params,function(){keepUrl();poll()});
function keepUrl(){history.replaceState(null,"","?state="+state+(windowMs?"&window="+windowMs:"")+filter.param())}
var el=function(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!==undefined)e.textContent=String(text);return e};
var sel=$("state");
STATES.forEach(function(s){var o=el("option",null,s);o.value=s;if(s===state)o.selected=true;sel.appendChild(o)});
sel.onchange=function(){state=sel.value;keepUrl();poll()};
$("empty-cmd").textContent="tcpfleet-agent --collector ws://"+location.host+" --token-file /etc/tcpfleet/token";
function ago(ms){ms=Math.max(0,ms);if(ms<1000)return "now";var s=Math.round(ms/1000);if(s<120)return s+"s ago";var m=Math.round(s/60);if(m<120)return m+"m ago";return Math.round(m/60)+"h ago"}
function spark(points){
  var w=120,h=22,NS="http://www.w3.org/2000/svg";
  var svg=document.createElementNS(NS,"svg");svg.setAttribute("class","spark");svg.setAttribute("width",w);svg.setAttribute("height",h);svg.setAttribute("viewBox","0 0 "+w+" "+h);
  var vals=points.filter(function(v){return v!==null});
  if(vals.length===0)return svg;
  var max=Math.max.apply(null,vals),min=Math.min.apply(null,vals),span=max-min||1,step=w/Math.max(1,points.length-1),d="",pen=false;
  points.forEach(function(v,i){if(v===null){pen=false;return}var x=(i*step).toFixed(1),y=(h-2-(v-min)/span*(h-4)).toFixed(1);d+=(pen?"L":"M")+x+" "+y;pen=true});
  var p=document.createElementNS(NS,"path");p.setAttribute("d",d);p.setAttribute("fill","none");p.setAttribute("stroke","#4fb3ff");p.setAttribute("stroke-width","1.5");svg.appendChild(p);
  var li=points.length-1;while(li>0&&points[li]===null)li--;
  var dot=document.createElementNS(NS,"circle");dot.setAttribute("cx",(li*step).toFixed(1));dot.setAttribute("cy",(h-2-(points[li]-min)/span*(h-4)).toFixed(1));dot.setAttribute("r","2");dot.setAttribute("fill","#4fb3ff");svg.appendChild(dot);
  var t=document.createElementNS(NS,"title");t.textContent="min "+min+", max "+max;svg.appendChild(t);
  return svg;
}
function render(o){
  var tot=$("totals");tot.textContent="";
  STATES.forEach(function(s){var c=el("div","card"+(s===state?" sel":""));c.dataset.state=s;c.appendChild(el("div","n",o.total.states[s]));c.appendChild(el("div","k",s));c.onclick=function(){sel.value=s;sel.onchange()};tot.appendChild(c)});
  $("fleet-hosts").textContent="\\u00b7 "+o.total.hosts+" live, "+o.total.stale+" stale";
  $("fleet-hosts").dataset.live=o.total.hosts;$("fleet-hosts").dataset.stale=o.total.stale;
  var ss=o.total.summary;$("ss").textContent="ss -s over live hosts: TCP "+ss.total+" (estab "+ss.estab+", closed "+ss.closed+", orphaned "+ss.orphaned+", timewait "+ss.timewait+")";
  var al=$("alerts");al.textContent="";
  if(o.alerts.length===0)al.appendChild(el("div","none","no alerts firing"));
  o.alerts.forEach(function(a){var d=el("div","alert");d.appendChild(el("strong",null,a.rule));d.appendChild(document.createTextNode(" "+(a.host===null?"fleet":a.host)+(a.severity?" \\u00b7 "+a.severity:"")+(a.value!==undefined?" \\u00b7 value "+a.value:"")+" \\u00b7 since "+ago(o.now-a.since)+(a.summary?" \\u2014 "+a.summary:"")));al.appendChild(d)});
  $("empty").hidden=o.hosts.length>0;$("hosts").hidden=o.hosts.length===0;
  $("value-head").textContent=o.state;
  var wm=Math.round(o.window_ms/60000);$("spark-head").textContent=o.state+", last "+(wm%60===0?(wm/60===1?"hour":wm/60+" hours"):wm+" min");
  var tb=document.querySelector("#hosts tbody"),frag=document.createDocumentFragment();
  o.hosts.forEach(function(h){
    var tr=el("tr",h.stale?"stale":"");tr.dataset.host=h.host;tr.title="open "+h.host+"'s page";
    tr.onclick=function(ev){if(ev.target.closest("button"))return;location.hash="host="+encodeURIComponent(h.host)};
    var td=el("td");td.appendChild(el("div",null,h.host));var lb=Object.keys(h.labels).map(function(k){return k+"="+h.labels[k]}).join(" ");if(lb)td.appendChild(el("div","labels",lb));tr.appendChild(td);
    var v=el("td","num",h.value);v.dataset.col="value";tr.appendChild(v);
    var sp=el("td");sp.appendChild(spark(h.spark));tr.appendChild(sp);
    [["established",h.states.established],["time_wait",h.states.time_wait],["close_wait",h.states.close_wait],["listen",h.states.listen],["ss_total",h.summary.total]].forEach(function(c){var x=el("td","num",c[1]);x.dataset.col=c[0];tr.appendChild(x)});
    tr.appendChild(el("td",null,ago(o.now-h.recv_ts)));
    var st=el("td");st.appendChild(el("span","badge "+(h.stale?"stale":"live"),h.stale?"STALE":"live"));tr.appendChild(st);
    frag.appendChild(tr);
  });
  tb.textContent="";tb.appendChild(frag);nsRows(tb,o);
  $("updated").textContent=new Date(o.now).toLocaleTimeString();
  document.body.dataset.updated=String(o.now);
  fleetChart(o.state);
}
var TOKEN_KEY="tcpfleet.readToken";
function authHeaders(){var t=readToken(),h={};if(t)h.Authorization="Bearer "+t;return h}
var nsRows=tcpfleetNamespaces(authHeaders);
var fleetChart=tcpfleetFleetChart(authHeaders),hostPage=tcpfleetHostPage(authHeaders,STATES,function(){forgetToken(readToken())});
function route(){
  var m=/^#host=(.+)$/.exec(location.hash),h=null;if(m){try{h=decodeURIComponent(m[1])}catch(e){}}
  $("fleetview").hidden=h!==null;$("hostpage").hidden=h===null;
  if(h!==null){clearTimeout(timer);hostPage.show(h)}else{hostPage.hide();poll()}
}
window.addEventListener("hashchange",route);
function readToken(){try{return sessionStorage.getItem(TOKEN_KEY)}catch(e){return null}}
function forgetToken(t){try{sessionStorage.removeItem(TOKEN_KEY)}catch(e){}askToken(t?"That token was refused.":"")}
function askToken(why){
  $("login-why").textContent=why;$("login").hidden=false;$("live").className="off";$("status").textContent="read token needed";$("error").textContent="";$("login-token").focus();
}
$("login").onsubmit=function(ev){
  ev.preventDefault();var t=$("login-token").value.trim();if(!t)return;
  try{sessionStorage.setItem(TOKEN_KEY,t)}catch(e){}
  $("login-token").value="";$("login").hidden=true;route();
};
var timer=null,NEEDS_TOKEN={},BAD_FILTER={};
function poll(){
  clearTimeout(timer);
  if(!$("hostpage").hidden)return;
  var t=readToken();
  fetch("api/v1/overview?state="+encodeURIComponent(state)+(windowMs?"&window="+windowMs:"")+filter.param(),{cache:"no-store",headers:authHeaders()}).then(function(r){
    if(r.status===401){forgetToken(t);throw NEEDS_TOKEN}
    if(r.status===400&&filter.param())return r.json().then(function(b){filter.refused(b&&b.error?b.error.message:"bad selector");throw BAD_FILTER});
    if(!r.ok)throw new Error("collector answered "+r.status);return r.json()}).then(function(o){
    render(o);$("live").className="on";$("status").textContent="live";$("error").textContent="";
  }).then(function(){timer=setTimeout(poll,POLL_MS)},function(e){
    if(e===NEEDS_TOKEN||e===BAD_FILTER)return;
    $("live").className="off";$("status").textContent="disconnected";$("error").textContent=String(e.message||e);timer=setTimeout(poll,POLL_MS);
  });
}
route();
})();
</script>
</body>
</html>
`;
