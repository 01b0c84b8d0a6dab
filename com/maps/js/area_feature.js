// Each subdistrict of the choropleth: its popup (the ranking's explanation, built in Python)
// and a sticky tooltip with the searchable label. folium's GeoJson onEachFeature, inlined by
// com/maps/layers.py (add_choropleth).
function comBindArea(feature, layer) {
    layer.bindPopup(feature.properties.popup,
        {maxWidth: 360, autoPanPaddingTopLeft: [60, 90]});
    layer.bindTooltip(feature.properties.search, {sticky: true});
}
