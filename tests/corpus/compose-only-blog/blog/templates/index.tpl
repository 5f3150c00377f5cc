<html>
  <head><link rel="stylesheet" href="/static/site.css"></head>
  <body>
    <h1>Inkwell</h1>
    % for p in posts:
      <article><h2>{{p['title']}}</h2><p>{{p['body']}}</p></article>
    % end
  </body>
</html>
