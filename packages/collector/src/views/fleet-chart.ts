/**
 * The dashboard's fleet chart (issue 12): the state the page ranks by, summed over the fleet,
 * over the last hour, 6 h or 24 h, from GET /api/v1/total/history (one point a minute: the sum
 * over hosts of each host's last value in that minute; docs/storage.md#history-resolution). At
 * most 1,440 rows (24 h), one request, whatever the number of hosts; re-read when the state or the
 * range changes and once a minute. The query drawn is kept in `window.tcpfleetCharts.fleetQuery`.
 */

/** The ranges offered, in ms, and the rows asked (one a minute). */
export const FLEET_RANGES: readonly (readonly [string, number])[] = [
  ['1 h', 3_600_000],
  ['6 h', 21_600_000],
  ['24 h', 86_400_000],
];

export const FLEET_CHART_HTML = `<h2>Fleet over time <select id="fc-range"></select><span class="chart-note" id="fc-note"></span></h2>
<div class="chart" id="fc-chart"></div>`;

/**
 * The script part (ES5): defines `tcpfleetFleetChart(authHeaders)`, returning `update(state)`,
 * which the dashboard calls after each poll (it re-reads only when needed).
 */
export const FLEET_CHART_SCRIPT = `
function tcpfleetFleetChart(authHeaders){
  "use strict";
  var RANGES=${JSON.stringify(FLEET_RANGES)},rangeMs=RANGES[0][1],drawn=null,at=0,busy=false,last=null;
  var sel=document.getElementById("fc-range"),note=document.getElementById("fc-note");
  RANGES.forEach(function(r){var o=document.createElement("option");o.textContent=r[0];o.value=String(r[1]);sel.appendChild(o)});
  sel.onchange=function(){rangeMs=Number(sel.value);at=0;if(last)update(last)};
  function update(state){
    last=state;
    if(busy||(drawn===state+"|"+rangeMs&&Date.now()-at<60000))return;
    busy=true;var want=state+"|"+rangeMs,now=Date.now(),since=now-rangeMs,until=now+60000;
    tcpfleetGetJson("api/v1/total/history?since="+since+"&until="+until+"&limit="+(Math.ceil(rangeMs/60000)+2),authHeaders()).then(function(a){
      var rows=a.body;
      tcpfleetChart(document.getElementById("fc-chart"),"fleet: "+state+" (sum over hosts, per minute)",[state],[rows.map(function(r){return r.ts/1000}),rows.map(function(r){return r.states[state]})]);
      window.tcpfleetCharts.fleetQuery={state:state,since:since,until:until,points:rows.length};
      drawn=state+"|"+rangeMs;at=Date.now();note.textContent=rows.length+" minutes";
    },function(e){note.textContent=String(e.message||e)}).then(function(){busy=false;if(last+"|"+rangeMs!==want)update(last)});
  }
  return update;
}
`;
