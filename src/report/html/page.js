(function () {
  // Every table of class "sortable" sorts by a click (or Enter) on a
  // header: descending first, again for ascending. The ranked table's view
  // (its sort and filters) is also kept in the address's #fragment
  // (sort=Column or sort=-Column; Column=value per filter), so that a view
  // can be linked, and opens as linked.
  function key(row, column) {
    var cell = row.cells[column];
    var text = cell ? cell.getAttribute('data-sort') || '' : '';
    var number = parseFloat(text);
    return isNaN(number) ? text : number;
  }

  function sortable(table, changed) {
    var body = table.tBodies[0];
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var view = { column: null, descending: false, headers: headers };
    view.sort = function (column, descending) {
      view.column = column;
      view.descending = descending;
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, column), y = key(b, column);
        // Numbers in order, and text (a "—" for no figure) after them
        // whichever way the numbers go.
        var xn = typeof x === 'number', yn = typeof y === 'number';
        if (xn !== yn) return xn ? -1 : 1;
        var order = xn ? x - y : x.localeCompare(y);
        return descending ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      headers.forEach(function (th, i) {
        if (i === column) {
          th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
        } else {
          th.removeAttribute('aria-sort');
        }
      });
    };
    headers.forEach(function (th, column) {
      function click() {
        view.sort(column, view.column === column ? !view.descending : true);
        if (changed) changed();
      }
      th.addEventListener('click', click);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter') click(); });
    });
    return view;
  }

  var ranked = document.getElementById('ranked');
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    if (table !== ranked) sortable(table, null);
  });
  if (ranked) {
    var selects = Array.prototype.slice.call(document.querySelectorAll('#filters select'));
    var rows = Array.prototype.slice.call(ranked.tBodies[0].rows);
    var filter = function () {
      rows.forEach(function (row) {
        row.hidden = !selects.every(function (select) {
          var column = +select.getAttribute('data-column');
          return !select.value || row.cells[column].getAttribute('data-sort') === select.value;
        });
      });
    };
    var remember = function () {
      var params = new URLSearchParams();
      if (view.column !== null) {
        params.set('sort', (view.descending ? '-' : '') + view.headers[view.column].textContent);
      }
      selects.forEach(function (select) {
        if (select.value) params.set(select.getAttribute('data-name'), select.value);
      });
      history.replaceState(null, '', '#' + params.toString());
    };
    var view = sortable(ranked, remember);
    selects.forEach(function (select) {
      select.addEventListener('change', function () { filter(); remember(); });
    });
    var params = new URLSearchParams(location.hash.slice(1));
    var wanted = params.get('sort');
    if (wanted) {
      var descending = wanted.charAt(0) === '-';
      var name = descending ? wanted.slice(1) : wanted;
      view.headers.forEach(function (th, column) {
        if (th.textContent === name) view.sort(column, descending);
      });
    }
    selects.forEach(function (select) {
      var value = params.get(select.getAttribute('data-name'));
      if (value !== null) select.value = value;
    });
    filter();
  }
  document.body.setAttribute('data-ready', 'yes');
})();
