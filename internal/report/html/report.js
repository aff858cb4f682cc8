// Filters the findings by namespace, severity (that one and above) and
// layer, and hides the check and layer groups left empty. The filters live
// in the URL fragment (#namespace=shop&severity=high), so a link or a
// reload keeps them. Without this script every finding shows.
//
// A served page (data-refresh) reloads itself here rather than by a meta
// refresh, which a browser may treat as a jump to the fragment instead of
// a reload; the meta refresh is only for when scripts are off.
(function () {
  "use strict";
  const refresh = Number(document.body.dataset.refresh);
  if (refresh > 0) setTimeout(() => location.reload(), refresh * 1000);
  const ranks = ["info", "low", "medium", "high", "critical"];
  const form = document.getElementById("filters");
  if (form) {
    const select = (name) => form.elements[name];
    const names = ["namespace", "severity", "layer"];
    const findings = document.querySelectorAll(".finding");

    const apply = () => {
      const ns = select("namespace").value;
      const min = ranks.indexOf(select("severity").value);
      const layer = select("layer").value;
      let shown = 0;
      for (const f of findings) {
        const ok = (ns === "" || f.dataset.namespace === ns) &&
          (min < 0 || ranks.indexOf(f.dataset.severity) >= min) &&
          (layer === "" || f.dataset.layer === layer);
        f.hidden = !ok;
        if (ok) shown++;
      }
      for (const group of document.querySelectorAll(".check, .layer-group")) {
        group.hidden = group.querySelector(".finding:not([hidden])") === null;
      }
      document.getElementById("filter-status").textContent = shown + " of " + findings.length + " shown";
      document.getElementById("no-match").hidden = shown > 0;
    };

    const fromFragment = () => {
      const params = new URLSearchParams(location.hash.slice(1));
      for (const name of names) {
        const want = params.get(name) || "";
        const s = select(name);
        s.value = Array.from(s.options).some((o) => o.value === want) ? want : "";
      }
    };

    const toFragment = () => {
      const params = new URLSearchParams();
      for (const name of names) {
        if (select(name).value !== "") params.set(name, select(name).value);
      }
      const hash = params.toString();
      history.replaceState(null, "", hash === "" ? location.pathname + location.search : "#" + hash);
    };

    form.addEventListener("change", () => { apply(); toFragment(); });
    window.addEventListener("hashchange", () => { fromFragment(); apply(); });
    fromFragment();
    apply();
    form.hidden = false;
  }
  document.body.dataset.js = "ready";
})();
