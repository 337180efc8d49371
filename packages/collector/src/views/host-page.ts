/**
 * The dashboard's page of one host (issue 12), shown in the same page under the hash route
 * `#host=NAME` (a click on a host row opens it; "← fleet" or Back closes it). It reads one host's
 * data only, so it costs the same at 10,000 hosts as at one:
 *
 *   - every state over the chosen range (1 h, 6 h, 24 h, 7 d, 30 d): GET /api/v1/hosts/ID/history,
 *     whose resolution (raw, 1m, 1h) the collector picks from where the range starts and names in
 *     X-Tcpfleet-Resolution (docs/storage.md#history-resolution); pages of PAGE rows, following
 *     the cursor up to MAX_POINTS rows. The 30 d range starts one minute before 30 days ago, so the
 *     hourly rollups answer it (720 points rather than 43,200). One point per element: its
 *     `states` (the last value of a rollup bucket);
 *   - the `ss -s` summary line and the top ports and peers now: GET /api/v1/hosts/ID (the latest
 *     snapshot and its breakdown);
 *   - the host's alerts: GET /api/v1/alerts, those whose `host` is this one.
 *
 * The chart is uPlot (chart-common.ts); the query it drew is kept in
 * `window.tcpfleetCharts.hostQuery` ({ host, since, until, resolution, points, truncated }).
 * Everything from agents is set as textContent.
 */

/** Rows asked per history page, and the most the page draws. */
export const HOST_CHART = Object.freeze({ pageRows: 5_000, maxPoints: 15_000 });

/** The ranges offered, in ms. */
export const HOST_RANGES: readonly (readonly [string, number])[] = [
  ['1 h', 3_600_000],
  ['6 h', 21_600_000],
  ['24 h', 86_400_000],
  ['7 d', 604_800_000],
  ['30 d', 2_592_000_000],
];

export const HOST_PAGE_CSS = `
#hostpage .back{color:var(--accent);text-decoration:none}
#hp-head{display:flex;align-items:baseline;gap:12px;margin:10px 0 4px}
#hp-head h1{font-size:18px;margin:0}
#hp-labels{color:var(--dim);font-size:12px}
#hp-controls{margin-top:12px}
.hp-two{display:grid;grid-template-columns:1fr 1fr;gap:16px}
#hosts tbody tr[data-host]{cursor:pointer}
#hosts tbody tr[data-host]:hover td{background:#1c2530}
`;

export const HOST_PAGE_HTML = `<section id="hostpage" hidden>
<a href="#" class="back" id="hp-back">\u2190 fleet</a>
<div id="hp-head"><h1 id="hp-host"></h1><span id="hp-badge"></span><span id="hp-labels"></span></div>
<div class="summary" id="hp-summary"></div>
<div id="hp-controls">range <select id="hp-range"></select><span class="chart-note" id="hp-res"></span><span class="chart-note" id="hp-error"></span></div>
<div class="chart" id="hp-chart"></div>
<h2>Alerts on this host</h2><div id="hp-alerts"></div>
<div class="hp-two"><div><h2>Top ports now (inbound)</h2><table id="hp-ports"><thead><tr><th>port</th><th class="num">established</th><th class="num">all states</th></tr></thead><tbody></tbody></table></div>
<div><h2>Top peers now (outbound)</h2><table id="hp-peers"><thead><tr><th>peer</th><th class="num">established</th><th class="num">all states</th></tr></thead><tbody></tbody></table></div></div>
</section>`;

/**
 * The script part (ES5): defines `tcpfleetHostPage(authHeaders, states, needToken)`, returning
 * `{ show(host), hide() }`; the dashboard calls them on hash changes. A 401 (no read token yet,
 * e.g. a bookmarked `#host=` in a new tab, or one refused) calls `needToken()`: the dashboard's
 * login, after which it shows the page again.
 */
export const HOST_PAGE_SCRIPT = `
function tcpfleetHostPage(authHeaders,STATES,needToken){
  "use strict";
  var PAGE=${HOST_CHART.pageRows},MAX=${HOST_CHART.maxPoints},RANGES=${JSON.stringify(HOST_RANGES)};
  var $=function(id){return document.getElementById(id)};
  var el=function(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!==undefined&&text!==null)e.textContent=String(text);return e};
  var host=null,timer=null,chartAt=0,seq=0,rangeMs=RANGES[0][1];
  var sel=$("hp-range");
  RANGES.forEach(function(r){var o=el("option",null,r[0]);o.value=String(r[1]);sel.appendChild(o)});
  sel.onchange=function(){rangeMs=Number(sel.value);chartAt=0;refresh()};
  function sum(st){var n=0;for(var k in st)n+=st[k];return n}
  function ago(ms){ms=Math.max(0,ms);var s=Math.round(ms/1000);if(s<120)return s+"s ago";var m=Math.round(s/60);if(m<120)return m+"m ago";return Math.round(m/60)+"h ago"}
  function err(e){$("hp-error").textContent=e?String(e.message||e):""}
  function latest(h){
    $("hp-badge").textContent="";$("hp-badge").appendChild(el("span","badge "+(h.stale?"stale":"live"),h.stale?"STALE":"live"));
    $("hp-labels").textContent=Object.keys(h.labels||{}).map(function(k){return k+"="+h.labels[k]}).join(" ");
    var ss=h.summary;$("hp-summary").textContent="ss -s: TCP "+ss.total+" (estab "+ss.estab+", closed "+ss.closed+", orphaned "+ss.orphaned+", timewait "+ss.timewait+") \\u00b7 every "+Math.round(h.interval_ms/1000)+" s \\u00b7 last seen "+ago(Date.now()-h.recv_ts);
    var b=h.breakdown||{inbound:[],outbound:[]};
    function fill(id,rows,name){var tb=document.querySelector("#"+id+" tbody");tb.textContent="";
      if(rows.length===0){var tr=el("tr"),td=el("td",null,"none");td.colSpan=3;tr.appendChild(td);tb.appendChild(tr);return}
      rows.forEach(function(r){var tr=el("tr");tr.dataset.key=name(r);tr.appendChild(el("td",null,name(r)));var e=el("td","num",r.states.established);e.dataset.col="established";tr.appendChild(e);var t=el("td","num",sum(r.states));t.dataset.col="total";tr.appendChild(t);tb.appendChild(tr)})}
    fill("hp-ports",b.inbound||[],function(r){return String(r.port)});
    fill("hp-peers",b.outbound||[],function(r){return (r.addr.indexOf(":")>=0?"["+r.addr+"]":r.addr)+":"+r.port});
  }
  function alerts(list){
    var box=$("hp-alerts");box.textContent="";
    var mine=list.filter(function(a){return a.host===host});
    if(mine.length===0){box.appendChild(el("div","none","no alerts on this host"));return}
    mine.forEach(function(a){var d=el("div","alert");d.dataset.rule=a.rule;d.appendChild(el("strong",null,a.rule));d.appendChild(document.createTextNode(" "+a.status+(a.severity?" \\u00b7 "+a.severity:"")+(a.value!==undefined&&a.value!==null?" \\u00b7 value "+a.value:"")+(a.container&&a.container.name?" \\u00b7 container "+a.container.name:"")+" \\u00b7 since "+ago(Date.now()-a.startsAt)));box.appendChild(d)});
  }
  function history(my){
    var now=Date.now(),since=now-rangeMs-(rangeMs>604800000?60000:0),until=now+60000,rows=[],res=null,truncated=false;
    var base="api/v1/hosts/"+encodeURIComponent(host)+"/history?limit="+PAGE;
    function page(q){
      return tcpfleetGetJson(base+q,authHeaders()).then(function(a){
        if(my!==seq)return;
        if(res===null)res=a.headers.get("X-Tcpfleet-Resolution");
        rows=rows.concat(a.body);var next=a.headers.get("X-Tcpfleet-Next-Cursor");
        if(next&&rows.length<MAX)return page("&cursor="+encodeURIComponent(next));
        truncated=!!next;
      });
    }
    return page("&since="+since+"&until="+until).then(function(){
      if(my!==seq)return;
      var data=[rows.map(function(r){return r.ts/1000})];
      STATES.forEach(function(s){data.push(rows.map(function(r){return r.states[s]}))});
      var box=$("hp-chart");box.dataset.resolution=res;
      tcpfleetChart(box,host+": every state",STATES,data);
      window.tcpfleetCharts.hostQuery={host:host,since:since,until:until,resolution:res,points:rows.length,truncated:truncated};
      $("hp-res").textContent=rows.length+" points, resolution "+res+(res==="raw"?" (every snapshot)":res==="1m"?" (one a minute)":" (one an hour)")+(truncated?"; the range holds more than "+MAX+" points: showing its first "+rows.length:"");
      $("hp-res").dataset.resolution=res;
    });
  }
  function refresh(){
    clearTimeout(timer);if(host===null)return;
    var my=++seq,h=authHeaders(),jobs=[];
    jobs.push(tcpfleetGetJson("api/v1/hosts/"+encodeURIComponent(host),h).then(function(a){if(my===seq)latest(a.body)}));
    jobs.push(tcpfleetGetJson("api/v1/alerts",h).then(function(a){if(my===seq)alerts(a.body)}));
    if(Date.now()-chartAt>60000){chartAt=Date.now();jobs.push(history(my))}
    Promise.all(jobs).then(function(){if(my===seq){err(null);document.getElementById("hostpage").dataset.loaded=String(Date.now())}},function(e){if(my===seq){chartAt=0;if(e.status===401){err(null);needToken();seq++;return}err(e)}}).then(function(){if(my===seq)timer=setTimeout(refresh,5000)});
  }
  $("hp-back").onclick=function(ev){ev.preventDefault();history_back()};
  function history_back(){location.hash=""}
  return {
    show:function(h){host=h;chartAt=0;$("hp-host").textContent=h;$("hp-error").textContent="";$("hp-summary").textContent="";document.getElementById("hostpage").dataset.loaded="";refresh()},
    hide:function(){host=null;seq++;clearTimeout(timer)}
  };
}
`;
