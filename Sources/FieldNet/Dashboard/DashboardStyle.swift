/// The dashboard's one style sheet, served from the binary (`/style.css`): readable on a county
/// office screen and a laptop, printable (the results board goes on a village notice board).
enum DashboardStyle {
    static let css = """
        :root { --ink: #1d2733; --muted: #5b6b7b; --line: #d5dde5; --accent: #b3261e; --bar: #2f6f9f; --light: #c9dcea; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 "Noto Sans CJK SC", "Noto Sans Tibetan", "Noto Serif Tibetan", sans-serif; color: var(--ink); background: #f6f8fa; }
        header { display: flex; justify-content: space-between; align-items: center; padding: 0.6rem 1.5rem; background: var(--accent); }
        header a, header strong { color: #fff; margin-right: 1rem; text-decoration: none; }
        header a:hover { text-decoration: underline; }
        main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
        h1 { font-size: 1.7rem; margin: 0.6rem 0; }
        h2 { font-size: 1.15rem; margin: 1.4rem 0 0.5rem; }
        .crumbs { color: var(--muted); margin: 0 0 0.8rem; }
        .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 0.8rem; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 0.6rem 1rem; }
        .card h2 { font-size: 0.95rem; margin: 0; color: var(--muted); }
        .card p { margin: 0.1rem 0; }
        .big { font-size: 2rem; font-weight: 700; }
        table { border-collapse: collapse; width: 100%; background: #fff; margin: 0.5rem 0; }
        th, td { border-bottom: 1px solid var(--line); padding: 0.35rem 0.6rem; text-align: left; vertical-align: top; }
        th { background: #eef2f6; font-weight: 600; }
        td[data-figure] { text-align: right; font-variant-numeric: tabular-nums; }
        tr.overdue td:first-child { border-left: 4px solid var(--accent); }
        form { display: flex; flex-wrap: wrap; gap: 0.6rem 1rem; align-items: center; margin: 0.6rem 0; }
        input, select, button { font: inherit; padding: 0.2rem 0.4rem; }
        .chart { max-width: 100%; height: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
        .chart text { font-size: 13px; fill: var(--ink); }
        .chart .bar { fill: var(--bar); }
        .chart text.small { font-size: 11px; }
        .chart .bar.light { fill: var(--light); }
        .photos { display: flex; flex-wrap: wrap; gap: 0.8rem; }
        figure { margin: 0; width: 220px; }
        figure img { width: 220px; height: 165px; object-fit: cover; border-radius: 4px; border: 1px solid var(--line); }
        figure.missing div { width: 220px; height: 165px; display: flex; align-items: center; justify-content: center; background: #eef2f6; color: var(--muted); text-align: center; padding: 1rem; }
        dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
        dt { color: var(--muted); }
        dd { margin: 0; }
        .error { color: var(--accent); font-weight: 600; }
        :lang(bo) { line-height: 1.9; }
        @media print {
          header, form { display: none; }
          body { background: #fff; font-size: 12pt; }
          main { max-width: none; padding: 0; }
          table { page-break-inside: auto; }
          tr { page-break-inside: avoid; }
        }
        """
}
