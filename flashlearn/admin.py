"""Site-wide admin settings: the header and the index with the numbers staff look at first."""

from django.contrib import admin

admin.site.site_header = "Flashlearn admin"
admin.site.site_title = "Flashlearn admin"
admin.site.index_title = "Where things stand"
admin.site.index_template = "admin/flashlearn/index.html"
