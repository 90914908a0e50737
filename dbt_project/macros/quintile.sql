{#-
    A 1–5 quintile score of the rows ordered by `order_by` (the best last): 1 + the fifth of
    the ranking the row's value starts in (1 + floor(5 × percent_rank), 5 at most). Equal
    values share a score, so a score never depends on an id, and the lowest value always
    scores 1. The decimal cast drops floating-point noise (5 × 0.6 is 3.0000000000000004).
    `partition_by` (optional) ranks within each group apart, e.g. per as-of date.
-#}
{% macro quintile(order_by, partition_by=none) -%}
    cast(least(
        5, 1 + floor(cast(5 * percent_rank() over (
            {%- if partition_by %}partition by {{ partition_by }} {% endif -%}
            order by {{ order_by }}) as decimal(18, 9)))
    ) as integer)
{%- endmacro %}
