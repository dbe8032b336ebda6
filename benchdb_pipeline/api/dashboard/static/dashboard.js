// Draws every figure on the page: each <script type="application/json" class="figure">
// holds a Plotly figure for the element named by its data-target.
document.querySelectorAll('script.figure').forEach(function (node) {
  var figure = JSON.parse(node.textContent);
  var target = document.getElementById(node.dataset.target);
  Plotly.newPlot(target, figure.data, figure.layout, {displaylogo: false, responsive: true});
  target.dataset.drawn = 'true';
});
// A select that changes a filter submits its form (the button stays for pages without script).
document.querySelectorAll('select[data-submit]').forEach(function (select) {
  select.addEventListener('change', function () { select.form.submit(); });
});
