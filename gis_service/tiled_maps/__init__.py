"""Map pages drawn from vector tiles (Leaflet + Leaflet.VectorGrid), for planners at city scale.

The page itself is light (its HTML carries no cell geometry): the hot spot and emerging hot spot
cells come as Mapbox Vector Tiles cut from one analysis frame per filter and data version
(:mod:`.cells`), the wards from ``/tiles/boundaries-{generation}``, and a small page model
(:mod:`.pages`) says what the panel, the legend, the labels and the base layer show. No Flask
here: ``gis_service.web.map_pages`` renders these models. The folium maps of
:mod:`gis_service.maps` stay for the notebooks.
"""
