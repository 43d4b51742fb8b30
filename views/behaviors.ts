/**
 * _hyperscript snippets used in `_=` attributes. Constant strings only: never interpolate data
 * into them. They rely on browser DOM APIs (querySelector, closest, dataset) and were exercised
 * with happy-dom; htmx itself does not run there, so the htmx events are dispatched by hand in
 * tests. Note the _hyperscript quirk: `on a or b from body` binds `from` to b only, so every
 * event repeats `from body`.
 */

/**
 * On `#conn-status`: follows the live connection (WS or SSE). The htmx:*:connection/close/error
 * events bubble from the element carrying hx-ws:connect / hx-sse:connect up to body.
 * States (data-state): connecting → live → offline; offline stays (text "offline – reconnecting")
 * while htmx retries with backoff, until a connection is made again.
 * Also marks `#app` with .stale while offline so the page can dim frozen numbers.
 */
export const CONN_STATUS_HS = `
on htmx:ws:before:connection from body or htmx:sse:before:connection from body
  if @data-state is 'connecting'
    put 'connecting…' into me
  end
end
on htmx:ws:after:connection from body or htmx:sse:after:connection from body
  set @data-state to 'live' then put 'live' into me
  remove .stale from #app
end
on htmx:ws:close from body or htmx:ws:error from body or htmx:sse:close from body or htmx:sse:error from body
  set @data-state to 'offline' then put 'offline – reconnecting' into me
  add .stale to #app
end`;

/**
 * On a nav tab link: mark it current right away (the server also renders aria-current on
 * a full page load, and the htmx page fragment re-sends the nav out of band).
 */
export const NAV_TAB_HS = `on click remove @aria-current from <nav.tabs a/> then set @aria-current to 'page'`;

/**
 * On the flows `<table>` (event delegation, one handler per table):
 * - a click on `button.sort[data-col]` in a header sorts the `<tbody class="flow">` groups by the
 *   numeric `data-sort-value` of their `td[data-col=…]` cell; first click descending, next
 *   ascending; sets aria-sort on the `<th>`. Sorts the rows on this page only.
 * - a click anywhere in a `tr.flow-row` (except on a link) toggles the details row that
 *   follows it and the aria-expanded of its `button.expand`.
 */
export const FLOWS_TABLE_HS = `
on click
  set btn to closest <button.sort/> to target
  if btn is not null
    set th to closest <th/> to btn
    set sel to "td[data-col='" + btn.dataset.col + "']"
    set desc to th.getAttribute('aria-sort') is not 'descending'
    set groups to Array.from(my querySelectorAll('tbody.flow'))
    call groups.sort(\\ a, b -> parseFloat(a.querySelector(sel).dataset.sortValue) - parseFloat(b.querySelector(sel).dataset.sortValue))
    if desc call groups.reverse() end
    for g in groups call me.appendChild(g) end
    for h in my querySelectorAll('th[aria-sort]') call h.removeAttribute('aria-sort') end
    if desc set th's @aria-sort to 'descending' else set th's @aria-sort to 'ascending' end
    exit
  end
  set link to closest <a/> to target
  if link is not null exit end
  set row to closest <tr.flow-row/> to target
  if row is null exit end
  set details to row.nextElementSibling
  toggle @hidden on details
  toggle .expanded on row
  set b to row.querySelector('button.expand')
  if details.hidden set b's @aria-expanded to 'false' else set b's @aria-expanded to 'true' end
end`;
