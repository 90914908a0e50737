{#-
    The RFM rules, one select for the dates in `as_of_dates`: recency, frequency and
    monetary value per person of `people` and date, scored 1–5 and named by the RFM grid
    (`segment_map`). Each argument names a relation or a CTE of the calling model, with the
    columns of int_features__as_of_dates, dim_customers, fct_orders and rfm_segment_map.

    Two models apply them: int_features__rfm to every feature snapshot date (the ML's
    training cutoffs) and customer_rfm to the run's date alone, so the mart BI reads costs
    one date, not three, and the two cannot count differently.

    Counted: completed orders with a person, placed before the date. Refunded and cancelled
    orders count neither as an order nor as money. Scores are quintiles among that date's
    buyers, 5 is best (macro `quintile`: by percent rank, so equal values share a score; two
    one-order buyers never differ by their id, as with `ntile`). People without a completed
    order before the date have frequency 0, monetary 0, null recency and tenure, scores 1
    and the segment `Prospects`. Each completed order joins the (few) dates after it once:
    orders × dates, then one aggregate per person and date.

    Types: days and scores integer, frequency bigint, money decimal(18, 2), rates double.
-#}
{% macro rfm_by_date(as_of_dates, people, orders, segment_map) -%}
with

completed_orders as (

    select
        orders.person_id,
        as_of_dates.as_of_date,
        orders.ordered_at,
        orders.amount
    from {{ orders }} as orders
    inner join {{ as_of_dates }} as as_of_dates
        on orders.ordered_at < cast(as_of_dates.as_of_date as timestamp)
    where
        orders.order_status = 'completed'
        and orders.person_id is not null

),

order_totals as (

    select
        person_id,
        as_of_date,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        count(*) as frequency,
        sum(amount) as monetary
    from completed_orders
    group by person_id, as_of_date

),

buyers as (

    select
        person_id,
        as_of_date,
        first_ordered_at,
        last_ordered_at,
        cast(
            {{ dbt.datediff('cast(last_ordered_at as date)', 'as_of_date', 'day') }}
            as integer
        ) as recency_days,
        cast(
            {{ dbt.datediff('cast(first_ordered_at as date)', 'as_of_date', 'day') }}
            as integer
        ) as tenure_days,
        cast(frequency as bigint) as frequency,
        cast(monetary as decimal(18, 2)) as monetary
    from order_totals

),

scored_buyers as (

    select
        *,
        {{ quintile('recency_days desc', partition_by='as_of_date') }} as r_score,
        {{ quintile('frequency asc', partition_by='as_of_date') }} as f_score,
        {{ quintile('monetary asc', partition_by='as_of_date') }} as m_score
    from buyers

),

measured as (

    select
        people.person_id,
        as_of_dates.as_of_date,
        scored_buyers.first_ordered_at,
        scored_buyers.last_ordered_at,
        scored_buyers.recency_days,
        scored_buyers.tenure_days,
        coalesce(scored_buyers.frequency, 0) as frequency,
        coalesce(scored_buyers.monetary, cast(0 as decimal(18, 2))) as monetary,
        coalesce(scored_buyers.r_score, 1) as r_score,
        coalesce(scored_buyers.f_score, 1) as f_score,
        coalesce(scored_buyers.m_score, 1) as m_score
    from {{ people }} as people
    cross join {{ as_of_dates }} as as_of_dates
    left join scored_buyers
        on
            people.person_id = scored_buyers.person_id
            and as_of_dates.as_of_date = scored_buyers.as_of_date

)

select
    measured.person_id,
    measured.as_of_date,
    measured.first_ordered_at,
    measured.last_ordered_at,
    measured.recency_days,
    measured.tenure_days,
    measured.frequency,
    measured.monetary,
    {{ safe_ratio('measured.monetary', 'measured.frequency') }} as avg_order_value,
    measured.r_score,
    measured.f_score,
    measured.m_score,
    {{ dbt.concat([
        dbt.cast('measured.r_score', dbt.type_string()),
        dbt.cast('measured.f_score', dbt.type_string()),
        dbt.cast('measured.m_score', dbt.type_string())
    ]) }} as rfm_cell,
    case
        when measured.frequency = 0 then 'Prospects'
        else segment_map.rfm_segment
    end as rfm_segment
from measured
left join {{ segment_map }} as segment_map
    on
        measured.r_score between segment_map.r_score_min and segment_map.r_score_max
        and measured.f_score between segment_map.f_score_min and segment_map.f_score_max
{%- endmacro %}
