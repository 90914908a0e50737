{#-
    Recency, frequency and monetary value per person and snapshot date
    (int_features__as_of_dates), scored 1–5 and named by the RFM grid seed: one row per
    person of dim_customers and date. The rules are the macro `rfm_by_date`'s, the same as
    customer_rfm's for the run's date; each date counts only the facts before it.

    Types: days and scores integer, frequency bigint, money decimal(18, 2), rates double.
-#}
with

as_of_dates as (

    select * from {{ ref('int_features__as_of_dates') }}

),

people as (

    select * from {{ ref('dim_customers') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

segment_map as (

    select * from {{ ref('rfm_segment_map') }}

),

final as (

    {{ rfm_by_date('as_of_dates', 'people', 'orders', 'segment_map') | indent(4) }}

)

select * from final
