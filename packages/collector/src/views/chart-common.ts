/**
 * What the dashboard's two charts (host-page.ts, fleet-chart.ts) share, spliced into the page's
 * script before them: `tcpfleetChart(box, title, names, data)` draws (or redraws) a uPlot time
 * chart in `box` and keeps the instance in `window.tcpfleetCharts[box.id]` (tests read the drawn
 * numbers back from its `data`); `tcpfleetGetJson(url, headers)` fetches JSON and hands back
 * `{ body, headers }`, throwing the collector's message on a refusal (with `status`).
 */

/** Styles of the charts (uPlot's own stylesheet comes from /assets/uplot.css). */
export const CHART_CSS = `
.chart{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:6px;margin-top:6px;min-height:60px}
.chart .u-legend{color:var(--fg);font-size:12px}
.chart-note{color:var(--dim);font-size:12px;margin-left:8px}
`;

/** The shared script part (ES5). */
export const CHART_SCRIPT = `
var TCPFLEET_COLORS=["#4fb3ff","#ffb454","#ff6b6b","#7bd88f","#c792ea","#f78c6c","#89ddff","#ffcb6b","#e06c75","#a9dc76","#78dce8","#ab9df2"];
window.tcpfleetCharts=window.tcpfleetCharts||{};
function tcpfleetChart(box,title,names,data){
  var old=window.tcpfleetCharts[box.id];if(old){old.destroy();delete window.tcpfleetCharts[box.id]}
  box.textContent="";
  if(typeof uPlot==="undefined"){box.textContent="chart library not loaded (/assets/uplot.js)";return null}
  var axis={stroke:"#8a96a6",grid:{stroke:"#263040",width:1},ticks:{stroke:"#263040",width:1}};
  var series=[{}];
  names.forEach(function(n,i){var any=false;for(var j=0;j<data[i+1].length;j++)if(data[i+1][j])any=true;series.push({label:n,stroke:TCPFLEET_COLORS[i%TCPFLEET_COLORS.length],width:1.5,show:names.length===1||any,spanGaps:false})});
  var u=new uPlot({title:title,width:Math.max(320,(box.clientWidth||960)-14),height:240,series:series,axes:[axis,axis],scales:{x:{time:true}}},data,box);
  window.tcpfleetCharts[box.id]=u;return u;
}
function tcpfleetGetJson(url,headers){
  return fetch(url,{cache:"no-store",headers:headers}).then(function(r){
    var fail=function(m){var e=new Error(m||"collector answered "+r.status);e.status=r.status;throw e};
    if(!r.ok)return r.json().then(function(b){fail(b&&b.error?b.error.message:null)},function(){fail(null)});
    return r.json().then(function(b){return {body:b,headers:r.headers}});
  });
}
`;
