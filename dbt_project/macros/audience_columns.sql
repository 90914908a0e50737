{#-
    The columns every audience model selects from customer_360 (their contract is shared in
    _activation__models.yml): who, which audience, and what a campaign personalises on.
-#}
{% macro audience_columns(audience) -%}
    person_id,
    '{{ audience }}' as audience,
    as_of_date,
    segment_name,
    rfm_segment,
    lifecycle_stage,
    p_purchase_30d,
    p_churn,
    predicted_value_12m
{%- endmacro %}
