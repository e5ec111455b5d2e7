<?xml version="1.0" encoding="UTF-8"?>
<!-- Shows an Atom or RSS document of this site as a readable page in a browser.
     Readers ignore the xml-stylesheet instruction and read the feed as it is. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:media="http://search.yahoo.com/mrss/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:fh="http://purl.org/syndication/history/1.0"
    exclude-result-prefixes="atom media dc fh">
  <xsl:output method="html" encoding="UTF-8" indent="no"
      doctype-system="about:legacy-compat"/>

  <!-- Titles and summaries are either plain text without anything that looks like markup,
       or text this site escaped as HTML: written unescaped, both show exactly their words.
       (A browser without disable-output-escaping shows the escapes instead.) -->
  <xsl:template match="/">
    <xsl:variable name="feed" select="atom:feed | rss/channel"/>
    <xsl:variable name="self" select="$feed/atom:link[@rel='self']/@href"/>
    <html lang="{atom:feed/@xml:lang | rss/channel/language}">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$feed/atom:title | $feed/title" disable-output-escaping="yes"/></title>
        <style>
          body { font: 1rem/1.5 system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 1rem; color: #1a1a1a; background: #fff; }
          header { border-bottom: 1px solid #ccc; margin-bottom: 1rem; }
          .note { background: #f3f6fa; border-left: 4px solid #2a5db0; padding: .5rem .75rem; }
          code { word-break: break-all; }
          article { border-bottom: 1px solid #eee; padding: .75rem 0; overflow: hidden; }
          article img { float: right; max-width: 8rem; height: auto; margin: 0 0 .5rem 1rem; }
          a { color: #1f4f9c; }
          .meta { color: #555; font-size: .9rem; }
        </style>
      </head>
      <body>
        <header>
          <p><a href="{$feed/atom:link[@rel='alternate']/@href | $feed/link}">All feeds</a></p>
          <h1><xsl:value-of select="$feed/atom:title | $feed/title" disable-output-escaping="yes"/></h1>
          <p><xsl:value-of select="$feed/atom:subtitle | $feed/description" disable-output-escaping="yes"/></p>
          <p class="note">This is a web feed. Copy its address into your feed reader to
            subscribe: <code><xsl:value-of select="$self"/></code></p>
          <xsl:apply-templates select="$feed/atom:link[@rel='current' or @rel='prev-archive' or @rel='next-archive']" mode="history"/>
        </header>
        <main>
          <h2>Entries</h2>
          <xsl:apply-templates select="$feed/atom:entry | $feed/item"/>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="atom:link" mode="history">
    <p>
      <a href="{@href}">
        <xsl:choose>
          <xsl:when test="@rel = 'current'">Newest entries</xsl:when>
          <xsl:when test="@rel = 'prev-archive'">Older entries</xsl:when>
          <xsl:otherwise>Newer entries</xsl:otherwise>
        </xsl:choose>
      </a>
    </p>
  </xsl:template>

  <xsl:template name="related">
    <xsl:param name="links"/>
    <xsl:if test="$links">
      <h4>Related</h4>
      <ul>
        <xsl:for-each select="$links">
          <li><a href="{@href}">
            <xsl:choose>
              <xsl:when test="@title"><xsl:value-of select="@title"/></xsl:when>
              <xsl:otherwise><xsl:value-of select="@href"/></xsl:otherwise>
            </xsl:choose>
          </a></li>
        </xsl:for-each>
      </ul>
    </xsl:if>
  </xsl:template>

  <xsl:template match="atom:entry">
    <article>
      <xsl:if test="media:thumbnail">
        <img src="{media:thumbnail/@url}" alt="" loading="lazy"/>
      </xsl:if>
      <h3><a href="{atom:link[not(@rel) or @rel='alternate']/@href}"><xsl:value-of select="atom:title" disable-output-escaping="yes"/></a></h3>
      <p class="meta"><xsl:value-of select="atom:author/atom:name"/> ·
        <time datetime="{atom:published}"><xsl:value-of select="substring(atom:published, 1, 10)"/></time></p>
      <p><xsl:value-of select="atom:summary" disable-output-escaping="yes"/></p>
      <xsl:call-template name="related">
        <xsl:with-param name="links" select="atom:link[@rel='related']"/>
      </xsl:call-template>
    </article>
  </xsl:template>

  <xsl:template match="item">
    <article>
      <xsl:if test="media:thumbnail">
        <img src="{media:thumbnail/@url}" alt="" loading="lazy"/>
      </xsl:if>
      <h3><a href="{link}"><xsl:value-of select="title" disable-output-escaping="yes"/></a></h3>
      <p class="meta"><xsl:value-of select="dc:creator"/> · <xsl:value-of select="pubDate"/></p>
      <p><xsl:value-of select="description" disable-output-escaping="yes"/></p>
      <xsl:call-template name="related">
        <xsl:with-param name="links" select="atom:link[@rel='related']"/>
      </xsl:call-template>
    </article>
  </xsl:template>
</xsl:stylesheet>
